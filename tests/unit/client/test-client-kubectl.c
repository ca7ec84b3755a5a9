/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The library against the real kubectl 1.32's output (fixtures captured by
 * kubectl/capture.py): describe of every kind kube describes, the table
 * printer on the Tables kubectl received, -o json|yaml|name|jsonpath.
 * Describe runs against a server that answers each request from the
 * fixture (what kubed answered at capture time), at the second kubectl ran.
 */
#include <dirent.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "client/describe.h"
#include "test-client.h"

static const char *fixture_dir(void) {
  const char *d = getenv("KUBECTL_FIXTURES");
  return d ? d : "kubectl";
}

static char *read_text(const char *dir, const char *name, const char *ext) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
  FILE *f = fopen(path, "re");
  if (!f)
    fail_msg("%s: %s", path, strerror(errno));
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char buf[4096];
  size_t n;
  kube_strbuf_append(&sb, "");
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    kube_strbuf_append_len(&sb, buf, n);
  fclose(f);
  return kube_strbuf_steal(&sb);
}

/* Fail with the first line that differs (the whole texts are long). */
static void assert_same_text(const char *what, const char *want,
                             const char *got) {
  if (strcmp(want, got) == 0)
    return;
  size_t line = 1;
  const char *w = want, *g = got;
  while (*w && *w == *g) {
    if (*w == '\n')
      line++;
    w++;
    g++;
  }
  const char *wl = w, *gl = g;
  while (wl > want && wl[-1] != '\n')
    wl--;
  while (gl > got && gl[-1] != '\n')
    gl--;
  fail_msg("%s differs from kubectl at line %zu:\n kubectl: %.*s\n kube:    "
           "%.*s",
           what, line, (int)strcspn(wl, "\n"), wl, (int)strcspn(gl, "\n"), gl);
}

/* ---- a server answering from the fixture ---------------------------- */

static void respond(int fd, int status, const char *body) {
  char head[256];
  size_t len = strlen(body);
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   status, len);
  if (write(fd, head, (size_t)n) < 0 || write(fd, body, len) < 0)
    return;
}

static void *canned_serve(void *arg) {
  struct canned *s = arg;
  for (;;) {
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
      return NULL;
    kube_strbuf_t in = KUBE_STRBUF_INIT;
    char buf[4096];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
      kube_strbuf_append_len(&in, buf, (size_t)r);
      char *end;
      /* Requests are GETs without bodies: one head each. */
      while (in.data && (end = strstr(in.data, "\r\n\r\n"))) {
        char target[1024] = "";
        sscanf(in.data, "GET %1023s", target);
        json_object *resp = NULL;
        if (json_object_object_get_ex(s->responses, target, &resp)) {
          respond(fd, (int)client_dint(resp, "status", 200),
                  client_dstr(resp, "body"));
        } else {
          size_t l = strlen(s->misses);
          snprintf(s->misses + l, sizeof s->misses - l, " %s", target);
          respond(fd, 404,
                  "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                  "\"Failure\",\"message\":\"not in the fixture\",\"reason\":"
                  "\"NotFound\",\"code\":404}");
        }
        size_t used = (size_t)(end + 4 - in.data);
        memmove(in.data, in.data + used, in.len - used + 1);
        in.len -= used;
      }
    }
    kube_strbuf_clear(&in);
    close(fd);
  }
}

kube_client_t *canned_start(struct canned *s, json_object *responses) {
  memset(s, 0, sizeof *s);
  s->responses = responses;
  snprintf(s->dir, sizeof s->dir, "/tmp/kube-kubectl-XXXXXX");
  if (!mkdtemp(s->dir))
    fail_msg("mkdtemp: %s", strerror(errno));
  snprintf(s->sock, sizeof s->sock, "%s/s", s->dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->sock);
  s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      listen(s->lfd, 8) < 0)
    fail_msg("listen %s: %s", s->sock, strerror(errno));
  pthread_create(&s->thread, NULL, canned_serve, s);
  char url[160];
  snprintf(url, sizeof url, "unix:%s", s->sock);
  setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
  kube_client_options_t o = {
      .struct_size = sizeof o, .server = url, .timeout_ms = 5000};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = kube_client_new(&o, &err);
  if (!c)
    fail_msg("client: %s", err.message);
  return c;
}

void canned_stop(struct canned *s, kube_client_t *c) {
  kube_client_free(c); /* closes its connection: the server sees EOF */
  shutdown(s->lfd, SHUT_RDWR);
  close(s->lfd);
  pthread_join(s->thread, NULL);
  unlink(s->sock);
  rmdir(s->dir);
}

/* ---- the cases ------------------------------------------------------- */

static void check_describe(const char *dir, const char *name, json_object *fx) {
  const kube_kind_t *k =
      kube_kind_by_kind(client_dstr(fx, "apiVersion"), client_dstr(fx, "kind"));
  assert_non_null(k);
  kube_object_t *obj =
      kube_object_wrap(json_object_get(kube_json_get(fx, "object")));
  struct canned s;
  kube_client_t *c = canned_start(&s, kube_json_get(fx, "responses"));
  kube_describe_options_t o = {.struct_size = sizeof o,
                               .now = (time_t)client_dint(fx, "now", 0)};
  kube_error_t err = KUBE_ERROR_INIT;
  char *got = kube_describe_object(c, k, obj, &o, &err);
  canned_stop(&s, c);
  if (!got)
    fail_msg("%s: %s", name, err.message);
  if (s.misses[0])
    fail_msg("%s: requests without an answer in the fixture:%s", name,
             s.misses);
  char *want = read_text(dir, name, ".txt");
  assert_same_text(name, want, got);
  free(want);
  free(got);
  kube_object_free(obj);
}

static void check_get(const char *dir, const char *name, json_object *fx) {
  static const struct {
    const char *name;
    int flag;
  } names[] = {{"WIDE", KUBE_TABLE_WIDE},
               {"NO_HEADERS", KUBE_TABLE_NO_HEADERS},
               {"SHOW_LABELS", KUBE_TABLE_SHOW_LABELS},
               {"NAMESPACE", KUBE_TABLE_NAMESPACE},
               {"KIND_PREFIX", KUBE_TABLE_KIND_PREFIX},
               {"EVENT", KUBE_TABLE_EVENT}};
  json_object *flags = kube_json_get(fx, "flags");
  int f = 0;
  for (size_t i = 0; i < json_object_array_length(flags); i++)
    for (size_t j = 0; j < ARRAY_SIZE(names); j++)
      if (streq(json_object_get_string(json_object_array_get_idx(flags, i)),
                names[j].name))
        f |= names[j].flag;
  kube_table_printer_t *p = kube_table_printer_new(f);
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *cols = kube_json_get(fx, "labelColumns");
  const char *keys[8] = {0};
  for (size_t i = 0; i < json_object_array_length(cols) && i < 7; i++)
    keys[i] = json_object_get_string(json_object_array_get_idx(cols, i));
  assert_int_equal(kube_table_printer_set_label_columns(p, keys, &err), 0);
  json_object *tables = kube_json_get(fx, "tables");
  for (size_t i = 0; i < json_object_array_length(tables); i++) {
    kube_object_t *t =
        kube_object_wrap(json_object_get(json_object_array_get_idx(tables, i)));
    if (kube_table_printer_add(p, t, kube_json_get_string(fx, "kindPrefix"),
                               &err) < 0)
      fail_msg("%s: %s", name, err.message);
    kube_object_free(t);
  }
  char *got = kube_table_printer_render(p);
  char *want = read_text(dir, name, ".txt");
  assert_non_null(got);
  assert_same_text(name, want, got);
  free(want);
  free(got);
  kube_table_printer_free(p);
}

static void check_output(const char *dir, const char *name, json_object *fx) {
  kube_output_t out;
  kube_error_t err = KUBE_ERROR_INIT;
  const char *spec = client_dstr(fx, "output");
  assert_int_equal(kube_output_parse(spec, &out, &err), 0);
  kube_object_t *obj =
      kube_object_wrap(json_object_get(kube_json_get(fx, "object")));
  char *got = kube_output_object(obj, &out, &err);
  if (!got)
    fail_msg("%s: %s", name, err.message);
  char *want = read_text(dir, name, ".txt");
  assert_same_text(name, want, got);
  free(want);
  free(got);
  kube_object_free(obj);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_kubectl_fixtures(void **state) {
  (void)state;
  /* kubectl printed local times in UTC at capture. */
  setenv("TZ", "UTC", 1);
  tzset();
  const char *dir = fixture_dir();
  DIR *d = opendir(dir);
  if (!d)
    fail_msg("%s: %s (set KUBECTL_FIXTURES)", dir, strerror(errno));
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (l < 6 || !streq(de->d_name + l - 5, ".json"))
      continue;
    names = realloc(names, (n + 1) * sizeof *names);
    names[n++] = strndup(de->d_name, l - 5);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_names);
  size_t counts[3] = {0};
  for (size_t i = 0; i < n; i++) {
    char *text = read_text(dir, names[i], ".json");
    kube_error_t err = KUBE_ERROR_INIT;
    json_object *fx = kube_json_parse(text, strlen(text), &err);
    if (!fx)
      fail_msg("%s: %s", names[i], err.message);
    if (str_has_prefix(names[i], "describe-")) {
      check_describe(dir, names[i], fx);
      counts[0]++;
    } else if (str_has_prefix(names[i], "get-")) {
      check_get(dir, names[i], fx);
      counts[1]++;
    } else if (str_has_prefix(names[i], "out-")) {
      check_output(dir, names[i], fx);
      counts[2]++;
    }
    json_object_put(fx);
    free(text);
    free(names[i]);
  }
  free(names);
  /* Every kind of fixture is there: an empty directory passes nothing. */
  assert_true(counts[0] >= 20 && counts[1] >= 10 && counts[2] >= 5);
  printf("kubectl 1.32 fixtures: %zu describe, %zu get, %zu -o outputs "
         "identical\n",
         counts[0], counts[1], counts[2]);
}

int run_kubectl_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kubectl_fixtures),
  };
  return cmocka_run_group_tests_name("kubectl", tests, NULL, NULL);
}
