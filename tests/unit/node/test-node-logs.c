/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's streaming server without containers: the CRI log parser and
 * renderer against hand-made lines (partial lines, tags, since, limits,
 * timestamps as Go prints RFC3339Nano), the tail scan against files of
 * every shape, PodLogOptions from a query, and the kubelet port over a
 * unix socket: containerLogs (whole, tail, follow across rotations as
 * the runtime's monitor rotates, several rotations between two reads),
 * the resolver's errors, the refusals of exec/attach/portForward before
 * the upgrade, and /healthz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "node/internal.h"

/* ---- the CRI line parser ---- */

static void test_cri_parse(void **state) {
  struct nd_cri_line l;
  const char *full = "2026-01-02T03:04:05.123456789Z stdout F hello\n";
  assert_int_equal(nd_cri_parse(full, strlen(full), &l), 0);
  assert_int_equal(l.stream, 1);
  assert_false(l.partial);
  assert_int_equal(l.ts.tv_nsec, 123456789);
  assert_int_equal(l.msg_len, 6);
  assert_memory_equal(l.msg, "hello\n", 6);

  const char *part = "2026-01-02T03:04:05Z stderr P:x:y half\n";
  assert_int_equal(nd_cri_parse(part, strlen(part), &l), 0);
  assert_int_equal(l.stream, 2);
  assert_true(l.partial);
  assert_int_equal(l.msg_len, 4); /* the file's newline is not the msg's */

  const char *empty = "2026-01-02T03:04:05Z stdout F \n";
  assert_int_equal(nd_cri_parse(empty, strlen(empty), &l), 0);
  assert_int_equal(l.msg_len, 1);

  /* A last line without its newline (the file ends mid-write). */
  const char *cut = "2026-01-02T03:04:05Z stdout F tail";
  assert_int_equal(nd_cri_parse(cut, strlen(cut), &l), 0);
  assert_int_equal(l.msg_len, 4);

  static const char *const bad[] = {
      "",
      "\n",
      "not-a-time stdout F x\n",
      "2026-01-02T03:04:05Z stdin F x\n",
      "2026-01-02T03:04:05Z stdout\n",
      "2026-01-02T03:04:05Z stdout F\n",
      "2026-13-02T03:04:05Z stdout F x\n",
      " stdout F x\n",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
    assert_int_equal(nd_cri_parse(bad[i], strlen(bad[i]), &l), -1);
}

static void test_rfc3339nano(void **state) {
  char buf[48];
  struct timespec ts = {1767323045, 123000000}; /* 2026-01-02T03:04:05.123 */
  nd_format_rfc3339nano(&ts, buf, sizeof buf);
  assert_string_equal(buf, "2026-01-02T03:04:05.123Z");
  ts.tv_nsec = 0;
  nd_format_rfc3339nano(&ts, buf, sizeof buf);
  assert_string_equal(buf, "2026-01-02T03:04:05Z");
  ts.tv_nsec = 1;
  nd_format_rfc3339nano(&ts, buf, sizeof buf);
  assert_string_equal(buf, "2026-01-02T03:04:05.000000001Z");
}

static char *render(const kube_node_log_options_t *o, const char *in,
                    bool final, size_t *used) {
  struct nd_log_render r;
  nd_log_render_init(&r, o);
  kube_strbuf_t out = KUBE_STRBUF_INIT;
  kube_strbuf_append(&out, "");
  *used = nd_log_render_feed(&r, in, strlen(in), final, &out);
  return kube_strbuf_steal(&out);
}

static const char sample[] = "2026-01-02T03:04:05.100Z stdout F one\n"
                             "garbage that is skipped\n"
                             "2026-01-02T03:04:06.200Z stderr P par\n"
                             "2026-01-02T03:04:07.300Z stderr F tial\n"
                             "2026-01-02T03:04:08Z stdout F three\n"
                             "2026-01-02T03:04:09Z stdout F unfini";

static void test_render(void **state) {
  kube_node_log_options_t o = {.struct_size = sizeof o, .tail_lines = -1};
  size_t used;
  char *s = render(&o, sample, false, &used);
  assert_string_equal(s, "one\npartial\nthree\n");
  assert_int_equal(used, strlen(sample) - strlen("2026-01-02T03:04:09Z "
                                                 "stdout F unfini"));
  free(s);
  s = render(&o, sample, true, &used);
  assert_string_equal(s, "one\npartial\nthree\nunfini");
  assert_int_equal(used, strlen(sample));
  free(s);

  /* Timestamps only where an output line starts. */
  o.timestamps = true;
  s = render(&o, sample, false, &used);
  assert_string_equal(s, "2026-01-02T03:04:05.1Z one\n"
                         "2026-01-02T03:04:06.2Z partial\n"
                         "2026-01-02T03:04:08Z three\n");
  free(s);

  /* since drops older lines (the partial's second half stays). */
  o.timestamps = false;
  kube_time_parse("2026-01-02T03:04:07Z", &o.since, NULL);
  s = render(&o, sample, true, &used);
  assert_string_equal(s, "tial\nthree\nunfini");
  free(s);

  /* limitBytes cuts mid-line and stops. */
  memset(&o.since, 0, sizeof o.since);
  o.limit_bytes = 6;
  s = render(&o, sample, true, &used);
  assert_string_equal(s, "one\npa");
  free(s);
  o.timestamps = true;
  o.limit_bytes = 10;
  s = render(&o, sample, true, &used);
  assert_string_equal(s, "2026-01-02");
  free(s);
}

static int memfd_with(const char *text) {
  int fd = memfd_create("log", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  return fd;
}

static void test_tail(void **state) {
  int fd = memfd_with("a\nbb\nccc\n");
  assert_int_equal(nd_log_tail_offset(fd, -1), 0);
  assert_int_equal(nd_log_tail_offset(fd, 0), 9);
  assert_int_equal(nd_log_tail_offset(fd, 1), 5);
  assert_int_equal(nd_log_tail_offset(fd, 2), 2);
  assert_int_equal(nd_log_tail_offset(fd, 3), 0);
  assert_int_equal(nd_log_tail_offset(fd, 100), 0);
  close(fd);
  /* An incomplete last line is not counted (the kubelet's rule). */
  fd = memfd_with("a\nbb\ncc");
  assert_int_equal(nd_log_tail_offset(fd, 0), 5);
  assert_int_equal(nd_log_tail_offset(fd, 1), 2);
  close(fd);
  fd = memfd_with("");
  assert_int_equal(nd_log_tail_offset(fd, 5), 0);
  close(fd);
  /* Lines across the 1 KiB blocks of the backwards scan. */
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (int i = 0; i < 1000; i++)
    kube_strbuf_printf(&sb, "line %04d\n", i); /* 10 bytes each */
  fd = memfd_with(sb.data);
  assert_int_equal(nd_log_tail_offset(fd, 1), 9990);
  assert_int_equal(nd_log_tail_offset(fd, 250), 7500);
  assert_int_equal(nd_log_tail_offset(fd, 999), 10);
  assert_int_equal(nd_log_tail_offset(fd, 1000), 0);
  close(fd);
  kube_strbuf_clear(&sb);
}

/* ---- PodLogOptions ---- */

struct q {
  const char *k[8], *v[8];
};

static const char *qparam(void *arg, const char *key) {
  struct q *q = arg;
  for (int i = 0; i < 8 && q->k[i]; i++)
    if (streq(q->k[i], key))
      return q->v[i];
  return NULL;
}

static void test_options(void **state) {
  kube_node_log_options_t o;
  bool prev = false;
  kube_error_t err = KUBE_ERROR_INIT;
  struct q q = {{"follow", "previous", "tailLines", "limitBytes", "timestamps"},
                {"1", "true", "5", "100", "True"}};
  assert_int_equal(
      kube_node_log_options_parse(qparam, &q, "p", &o, &prev, &err), 0);
  assert_true(o.follow && prev && o.timestamps);
  assert_int_equal(o.tail_lines, 5);
  assert_int_equal(o.limit_bytes, 100);

  struct q neg = {{"tailLines"}, {"-1"}};
  assert_int_equal(
      kube_node_log_options_parse(qparam, &neg, "p", &o, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_INVALID);
  assert_string_equal(err.message, "PodLogOptions \"p\" is invalid: "
                                   "tailLines: Invalid value: -1: must be "
                                   "greater than or equal to 0");
  kube_error_clear(&err);
  struct q both = {{"sinceSeconds", "sinceTime"},
                   {"10", "2026-01-01T00:00:00Z"}};
  assert_int_equal(
      kube_node_log_options_parse(qparam, &both, "p", &o, NULL, &err), -1);
  assert_non_null(strstr(err.message, "at most one of `sinceTime` or "
                                      "`sinceSeconds` may be specified"));
  kube_error_clear(&err);
  struct q zero = {{"limitBytes"}, {"0"}};
  assert_int_equal(
      kube_node_log_options_parse(qparam, &zero, "p", &o, NULL, &err), -1);
  kube_error_clear(&err);
  struct q nan = {{"sinceSeconds"}, {"ten"}};
  assert_int_equal(
      kube_node_log_options_parse(qparam, &nan, "p", &o, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  struct q bad = {{"sinceTime"}, {"yesterday"}};
  assert_int_equal(
      kube_node_log_options_parse(qparam, &bad, "p", &o, NULL, &err), -1);
  kube_error_clear(&err);
  struct q since = {{"sinceTime"}, {"2026-01-02T03:04:05Z"}};
  assert_int_equal(
      kube_node_log_options_parse(qparam, &since, "p", &o, NULL, &err), 0);
  assert_int_equal(o.since.tv_sec, 1767323045);
}

/* ---- the kubelet port over a unix socket ---- */

struct srv {
  char dir[64];
  char sock[128];
  char log[128];
  kube_loop_t *loop;
  kube_node_stream_t *s;
  pthread_t th;
  int summaries; /* calls of the summary function; odd ones fail */
};

static int summary(void *arg, char **out, kube_error_t *err) {
  struct srv *v = arg;
  if (v->summaries++ % 2)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "no stats sampled on node n yet");
  *out = strdup("{\"node\":{\"nodeName\":\"n\"},\"pods\":[]}");
  return 0;
}

static int resolve(void *arg, const kube_node_stream_query_t *q,
                   kube_node_stream_target_t *out, kube_error_t *err) {
  struct srv *v = arg;
  if (!streq(q->pod, "p"))
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          q->op == KUBE_NODE_STREAM_LOGS
                              ? "pod \"%s\" does not exist"
                              : "pod does not exist%.0s",
                          q->pod);
  if (q->container && streq(q->container, "waits"))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "container \"waits\" in pod \"p\" is waiting to "
                          "start: ContainerCreating");
  if (q->container && streq(q->container, "c"))
    out->log_path = strdup(v->log);
  /* No container id: exec and attach are refused, follow never ends on
   * its own. */
  return 0;
}

static void *loop_thread(void *arg) {
  kube_loop_run(arg, NULL);
  return NULL;
}

static void quit_cb(void *arg) {
  kube_loop_quit(arg);
}

static void srv_start(struct srv *v) {
  snprintf(v->dir, sizeof v->dir, "/tmp/nodelogs-XXXXXX");
  assert_non_null(mkdtemp(v->dir));
  snprintf(v->sock, sizeof v->sock, "%s/kubelet.sock", v->dir);
  snprintf(v->log, sizeof v->log, "%s/0.log", v->dir);
  v->loop = kube_loop_new(NULL);
  kube_node_stream_options_t o = {.struct_size = sizeof o,
                                  .loop = v->loop,
                                  .resolve = resolve,
                                  .resolve_arg = v,
                                  .follow_check_ms = 50};
  kube_error_t err = KUBE_ERROR_INIT;
  v->s = kube_node_stream_new(&o, &err);
  assert_non_null(v->s);
  char spec[160];
  snprintf(spec, sizeof spec, "unix:%s", v->sock);
  assert_int_equal(kube_node_stream_listen(v->s, spec, NULL, &err), 0);
  v->summaries = 0;
  kube_node_stream_set_summary(v->s, summary, v);
  pthread_create(&v->th, NULL, loop_thread, v->loop);
}

static void srv_stop(struct srv *v) {
  kube_loop_invoke(v->loop, quit_cb, v->loop, NULL);
  pthread_join(v->th, NULL);
  kube_node_stream_free(v->s);
  kube_loop_iterate(v->loop, 0);
  kube_loop_free(v->loop);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", v->dir);
  assert_int_equal(system(cmd), 0);
}

static int dial(struct srv *v, const char *req) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%.100s", v->sock);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
  return fd;
}

/* Read until `want` shows up in the decoded body, the connection ends, or
 * ~10 s pass; returns the raw response (owned). */
static char *read_until(int fd, const char *want) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  for (int i = 0; i < 1000 && !(want && strstr(sb.data, want)); i++) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0)
      continue;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    kube_strbuf_append_len(&sb, buf, (size_t)n);
  }
  return kube_strbuf_steal(&sb);
}

static void write_log(const char *path, const char *mode, int from, int to) {
  FILE *f = fopen(path, mode);
  assert_non_null(f);
  for (int i = from; i <= to; i++)
    fprintf(f, "2026-01-02T03:04:05.%09dZ stdout F l%d\n", i, i);
  fclose(f);
}

static void test_kubelet_logs(void **state) {
  struct srv v;
  srv_start(&v);
  write_log(v.log, "w", 1, 5);
  int fd = dial(&v, "GET /containerLogs/ns/p/c?tailLines=2 HTTP/1.0\r\n\r\n");
  char *r = read_until(fd, NULL);
  assert_non_null(strstr(r, "200 OK"));
  assert_non_null(strstr(r, "\r\n\r\nl4\nl5\n"));
  free(r);
  close(fd);

  fd = dial(&v, "GET /containerLogs/ns/p/waits HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "HTTP/1.1 400"));
  assert_non_null(strstr(r, "\"message\":\"container \\\"waits\\\" in pod "
                            "\\\"p\\\" is waiting to start: "
                            "ContainerCreating\""));
  free(r);
  close(fd);

  fd = dial(&v, "GET /containerLogs/ns/nope/c HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "HTTP/1.1 404"));
  assert_non_null(strstr(r, "pod \\\"nope\\\" does not exist"));
  free(r);
  close(fd);

  fd = dial(&v, "GET /containerLogs/ns/p/c?previous=true HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "previous terminated container \\\"c\\\" in pod "
                            "\\\"p\\\" not found"));
  free(r);
  close(fd);

  fd = dial(&v, "GET /containerLogs/ns/p/c?tailLines=-3 HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "HTTP/1.1 422"));
  free(r);
  close(fd);
  srv_stop(&v);
}

/* Rotate as the runtime's monitor does: log -> log.1 -> ... */
static void rotate(struct srv *v, int keep) {
  char from[160], to[160];
  for (int i = keep - 1; i >= 1; i--) {
    if (i == 1)
      snprintf(from, sizeof from, "%s", v->log);
    else
      snprintf(from, sizeof from, "%s.%d", v->log, i - 1);
    snprintf(to, sizeof to, "%s.%d", v->log, i);
    rename(from, to);
  }
}

static void test_kubelet_follow(void **state) {
  struct srv v;
  srv_start(&v);
  write_log(v.log, "w", 1, 3);
  int fd = dial(&v, "GET /containerLogs/ns/p/c?follow=true HTTP/1.1\r\n"
                    "Host: x\r\n\r\n");
  char *r = read_until(fd, "l3\n");
  assert_non_null(strstr(r, "Transfer-Encoding: chunked"));
  free(r);
  /* New lines, one rotation, then three rotations between two reads: no
   * line lost or doubled. */
  write_log(v.log, "a", 4, 6);
  r = read_until(fd, "l6\n");
  assert_non_null(strstr(r, "l4\n"));
  free(r);
  rotate(&v, 10);
  write_log(v.log, "w", 7, 9);
  r = read_until(fd, "l9\n");
  free(r);
  kube_strbuf_t seen = KUBE_STRBUF_INIT;
  for (int k = 0; k < 3; k++) {
    write_log(v.log, "a", 10 + k * 2, 11 + k * 2);
    rotate(&v, 10);
    write_log(v.log, "w", 100 + k, 100 + k);
  }
  write_log(v.log, "a", 200, 200);
  r = read_until(fd, "l200\n");
  kube_strbuf_append(&seen, r);
  free(r);
  /* File by file: l10 l11 | l100 l12 l13 | l101 l14 l15 | l102 l200. */
  static const char *const want[] = {"l10\n",  "l11\n",  "l100\n", "l12\n",
                                     "l13\n",  "l101\n", "l14\n",  "l15\n",
                                     "l102\n", "l200\n"};
  const char *p = seen.data;
  for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
    const char *at = strstr(p, want[i]);
    assert_non_null(at); /* present, and in order */
    p = at + strlen(want[i]);
  }
  kube_strbuf_clear(&seen);
  close(fd); /* the client leaves: the stream ends */
  for (int i = 0; i < 200 && kube_node_stream_sessions(v.s) > 0; i++)
    usleep(10000);
  assert_int_equal(kube_node_stream_sessions(v.s), 0);
  srv_stop(&v);
}

/* GET /stats/summary answers the summary function's document. */
static void test_kubelet_summary(void **state) {
  struct srv v;
  srv_start(&v);
  int fd = dial(&v, "GET /stats/summary HTTP/1.0\r\n\r\n");
  char *r = read_until(fd, NULL);
  assert_non_null(strstr(r, "HTTP/1.1 200"));
  assert_non_null(strstr(r, "application/json"));
  assert_non_null(strstr(r, "\r\n\r\n{\"node\":{\"nodeName\":\"n\"},"));
  free(r);
  close(fd);
  fd = dial(&v, "GET /stats/summary HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "HTTP/1.1 503"));
  assert_non_null(strstr(r, "no stats sampled on node n yet"));
  free(r);
  close(fd);
  fd = dial(&v, "DELETE /stats/summary HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "HTTP/1.1 405"));
  free(r);
  close(fd);
  srv_stop(&v);
}

static void test_kubelet_refusals(void **state) {
  struct srv v;
  srv_start(&v);
  /* No container id from the resolver: refused before any upgrade, as
   * text (what client-go prints after "unable to upgrade connection"). */
  int fd = dial(&v, "POST /exec/ns/p/c?command=true&stdout=1 HTTP/1.0\r\n"
                    "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n");
  char *r = read_until(fd, NULL);
  assert_non_null(strstr(r, "HTTP/1.1 404"));
  assert_non_null(strstr(r, "\r\n\r\ncontainer not found (\"c\")"));
  free(r);
  close(fd);
  fd = dial(&v, "POST /exec/ns/p/c?command=true HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "you must specify at least 1 of stdin, stdout, "
                            "stderr"));
  free(r);
  close(fd);
  fd = dial(&v, "GET /portForward/ns/nope HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "pod does not exist"));
  free(r);
  close(fd);
  fd = dial(&v, "GET /portForward/ns/p?ports=80 HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "pod not found (\"p\")"));
  free(r);
  close(fd);
  fd = dial(&v, "GET /healthz HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "200 OK"));
  assert_non_null(strstr(r, "\r\n\r\nok"));
  free(r);
  close(fd);
  fd = dial(&v, "GET /exec/ns HTTP/1.0\r\n\r\n");
  r = read_until(fd, NULL);
  assert_non_null(strstr(r, "404"));
  free(r);
  close(fd);
  srv_stop(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cri_parse),
      cmocka_unit_test(test_rfc3339nano),
      cmocka_unit_test(test_render),
      cmocka_unit_test(test_tail),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_kubelet_logs),
      cmocka_unit_test(test_kubelet_follow),
      cmocka_unit_test(test_kubelet_refusals),
      cmocka_unit_test(test_kubelet_summary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
