/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Dockerfile parser (directives, comments, continuations, flags, JSON
 * and shell forms), word processing ($VAR, ${VAR:-x}, quotes, escapes),
 * config instructions, .dockerignore matching, and the content part of
 * COPY's cache key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/build.h"

static img_dockerfile_t parse_ok(const char *text) {
  img_dockerfile_t df;
  kube_error_t err = KUBE_ERROR_INIT;
  if (img_dockerfile_parse(text, strlen(text), &df, &err) < 0)
    fail_msg("parse: %s", err.message);
  return df;
}

static void test_basic(void **state) {
  (void)state;
  img_dockerfile_t df =
      parse_ok("# syntax=docker/dockerfile:1\n"
               "# a comment\n"
               "\n"
               "FROM node:20 AS build\n"
               "  RUN apt-get update && \\\n"
               "# a comment inside a continuation is dropped\n"
               "\n"
               "      apt-get install -y x\n"
               "COPY --chown=node:node --chmod=644 a b /dst/\n"
               "CMD [\"node\", \"app.js\"]\n"
               "ENTRYPOINT [\"broken json\"\n"
               "run echo lower case\r\n");
  assert_int_equal(df.escape, '\\');
  assert_int_equal(df.n, 6);
  assert_string_equal(df.instrs[0].cmd, "from");
  assert_int_equal(df.instrs[0].line, 4);
  assert_int_equal(df.instrs[0].n_args, 3);
  assert_string_equal(df.instrs[0].args[2], "build");
  assert_string_equal(df.instrs[1].cmd, "run");
  assert_int_equal(df.instrs[1].line, 5);
  assert_string_equal(df.instrs[1].rest,
                      "apt-get update &&       apt-get install -y x");
  assert_false(df.instrs[1].json);
  const img_df_instr_t *c = &df.instrs[2];
  assert_int_equal(c->n_flags, 2);
  assert_string_equal(c->flags[0].name, "chown");
  assert_string_equal(c->flags[0].value, "node:node");
  assert_string_equal(c->flags[1].value, "644");
  assert_int_equal(c->n_args, 3);
  assert_string_equal(c->args[2], "/dst/");
  assert_true(df.instrs[3].json);
  assert_int_equal(df.instrs[3].n_args, 2);
  assert_string_equal(df.instrs[3].args[1], "app.js");
  /* not valid JSON: the shell form */
  assert_false(df.instrs[4].json);
  assert_string_equal(df.instrs[4].rest, "[\"broken json\"");
  assert_string_equal(df.instrs[5].cmd, "run");
  assert_string_equal(df.instrs[5].rest, "echo lower case");
  img_dockerfile_clear(&df);
}

static void test_escape_directive(void **state) {
  (void)state;
  img_dockerfile_t df = parse_ok("# escape=`\n"
                                 "FROM scratch\n"
                                 "COPY a `\n"
                                 "  c:\\windows\\\n");
  assert_int_equal(df.escape, '`');
  assert_int_equal(df.n, 2);
  assert_string_equal(df.instrs[1].rest, "a   c:\\windows\\");
  img_dockerfile_clear(&df);
  /* a directive after a comment is a comment */
  df = parse_ok("# hello\n# escape=`\nFROM x\nRUN a \\\n b\n");
  assert_int_equal(df.escape, '\\');
  assert_string_equal(df.instrs[1].rest, "a  b");
  img_dockerfile_clear(&df);
}

static void test_errors(void **state) {
  (void)state;
  const char *bad[][2] = {
      {"FROM x\nFROB y\n", "Dockerfile:2: unknown instruction: frob"},
      {"# just a comment\n\n", "no instructions"},
      {"# escape=x\nFROM a\n", "invalid escape token"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    img_dockerfile_t df;
    kube_error_t err = KUBE_ERROR_INIT;
    assert_int_equal(
        img_dockerfile_parse(bad[i][0], strlen(bad[i][0]), &df, &err), -1);
    if (!strstr(err.message, bad[i][1]))
      fail_msg("\"%s\" lacks \"%s\"", err.message, bad[i][1]);
    assert_int_equal(err.reason, KUBE_REASON_INVALID);
    kube_error_clear(&err);
  }
}

static const char *vars(void *ctx, const char *name) {
  (void)ctx;
  if (streq(name, "A"))
    return "aa";
  if (streq(name, "EMPTY"))
    return "";
  if (streq(name, "SP"))
    return "x y";
  return NULL;
}

static void test_expand(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"$A", "aa"},
      {"${A}b", "aab"},
      {"x$A-y", "xaa-y"},
      {"${NOPE:-def}", "def"},
      {"${EMPTY:-def}", "def"},
      {"${EMPTY-def}", ""},
      {"${NOPE-def}", "def"},
      {"${A:+set}", "set"},
      {"${NOPE:+set}", ""},
      {"'$A'", "$A"},
      {"\"$A b\"", "aa b"},
      {"\\$A", "$A"},
      {"\"\\$A\"", "$A"},
      {"$", "$"},
      {"${NOPE:-${A}}", "aa"},
      {"a\\ b", "a b"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    char *r = img_df_expand(cases[i][0], '\\', vars, NULL, &err);
    if (!r)
      fail_msg("%s: %s", cases[i][0], err.message);
    if (!streq(r, cases[i][1]))
      fail_msg("%s -> \"%s\", want \"%s\"", cases[i][0], r, cases[i][1]);
    free(r);
  }
  kube_error_t err = KUBE_ERROR_INIT;
  assert_null(img_df_expand("${A", '\\', vars, NULL, &err));
  kube_error_clear(&err);
  assert_null(img_df_expand("\"open", '\\', vars, NULL, &err));
  kube_error_clear(&err);
  assert_null(img_df_expand("${NOPE:?must be set}", '\\', vars, NULL, &err));
  assert_non_null(strstr(err.message, "must be set"));
  kube_error_clear(&err);
  /* words: split at unquoted spaces, after expansion of quoted parts */
  size_t n = 0;
  char **w = img_df_words("a \"b c\" $SP 'd e'", '\\', vars, NULL, &n, &err);
  assert_int_equal(n, 5);
  assert_string_equal(w[1], "b c");
  assert_string_equal(w[2], "x");
  assert_string_equal(w[3], "y");
  assert_string_equal(w[4], "d e");
  img_strv_free(w);
}

static json_object *apply(json_object *cfg, const char *line) {
  img_df_instr_t in;
  kube_error_t err = KUBE_ERROR_INIT;
  if (img_dockerfile_parse_line(line, '\\', &in, &err) < 0 ||
      img_df_apply_config(cfg, &in, '\\', vars, NULL, &err) < 0)
    fail_msg("%s: %s", line, err.message);
  img_df_instr_clear(&in);
  return cfg;
}

static bool apply_fails(json_object *cfg, const char *line) {
  img_df_instr_t in;
  kube_error_t err = KUBE_ERROR_INIT;
  bool failed = img_dockerfile_parse_line(line, '\\', &in, &err) < 0 ||
                img_df_apply_config(cfg, &in, '\\', vars, NULL, &err) < 0;
  img_df_instr_clear(&in);
  kube_error_clear(&err);
  return failed;
}

static void test_config_instructions(void **state) {
  (void)state;
  json_object *c = json_object_new_object();
  apply(c, "ENV PATH=/bin X=\"a b\" Y=$A");
  apply(c, "ENV OLD the rest of the line");
  apply(c, "ENV X=replaced");
  apply(c, "LABEL \"com.example.k\"=\"v 1\" other=2");
  apply(c, "WORKDIR /app");
  apply(c, "WORKDIR sub/../dir");
  apply(c, "USER node:staff");
  apply(c, "EXPOSE 8080 53/UDP ${NOPE:-9000}");
  apply(c, "VOLUME [\"/data\", \"/logs\"]");
  apply(c, "VOLUME /cache");
  apply(c, "STOPSIGNAL SIGQUIT");
  apply(c, "SHELL [\"/bin/bash\", \"-c\"]");
  apply(c, "CMD echo hi");
  apply(c, "HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD "
           "curl -f http://localhost/");
  apply(c, "ONBUILD RUN make");
  kube_image_config_t k;
  json_object *root = json_object_new_object();
  json_object_object_add(root, "config", json_object_get(c));
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(img_config_from_json(root, &k, &err), 0);
  assert_int_equal(k.n_env, 4);
  assert_string_equal(k.env[1], "X=replaced");
  assert_string_equal(k.env[2], "Y=aa");
  assert_string_equal(k.env[3], "OLD=the rest of the line");
  assert_string_equal(k.label_keys[0], "com.example.k");
  assert_string_equal(k.label_values[0], "v 1");
  assert_string_equal(k.working_dir, "/app/dir");
  assert_string_equal(k.user, "node:staff");
  assert_int_equal(k.n_exposed_ports, 3);
  assert_string_equal(k.exposed_ports[0], "53/udp");
  assert_string_equal(k.exposed_ports[2], "9000/tcp");
  assert_int_equal(k.n_volumes, 3);
  assert_string_equal(k.stop_signal, "SIGQUIT");
  /* shell form wrapped in the image's SHELL */
  assert_int_equal(k.n_cmd, 3);
  assert_string_equal(k.cmd[0], "/bin/bash");
  assert_string_equal(k.cmd[2], "echo hi");
  assert_non_null(k.healthcheck);
  assert_string_equal(k.healthcheck->test[0], "CMD-SHELL");
  assert_int_equal(k.healthcheck->interval_ns, 30000000000LL);
  assert_int_equal(k.healthcheck->timeout_ns, 90000000000LL);
  assert_int_equal(k.healthcheck->retries, 3);
  assert_int_equal(k.n_on_build, 1);
  assert_string_equal(k.on_build[0], "RUN make");
  kube_image_config_clear(&k);
  /* ENTRYPOINT resets an inherited CMD */
  apply(c, "ENTRYPOINT [\"node\", \"app.js\"]");
  json_object *v = NULL;
  assert_false(json_object_object_get_ex(c, "Cmd", &v));
  apply(c, "HEALTHCHECK NONE");
  assert_true(apply_fails(c, "EXPOSE 70000"));
  assert_true(apply_fails(c, "EXPOSE abc"));
  assert_true(apply_fails(c, "ENV novalue"));
  assert_true(apply_fails(c, "ENV a=1 b"));
  assert_true(apply_fails(c, "SHELL /bin/sh"));
  assert_true(apply_fails(c, "USER a b"));
  assert_true(apply_fails(c, "ONBUILD FROM x"));
  assert_true(apply_fails(c, "HEALTHCHECK --interval=soon CMD x"));
  assert_true(apply_fails(c, "HEALTHCHECK --bogus=1 CMD x"));
  assert_true(apply_fails(c, "RUN x"));
  json_object_put(root);
  json_object_put(c);
}

static void test_dockerignore(void **state) {
  (void)state;
  img_ignore_t ig;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(img_ignore_parse("# comment\n"
                                    "node_modules\n"
                                    "*.log\n"
                                    "/build/\n"
                                    "**/*.tmp\n"
                                    "docs/**\n"
                                    "!docs/keep.md\n"
                                    "  secret.txt  \n",
                                    &ig, &err),
                   0);
  assert_int_equal(ig.n, 7);
  const char *yes[] = {"node_modules", "node_modules/x/y.js", "a.log",
                       "build/out",    "deep/er/x.tmp",       "x.tmp",
                       "docs/a.md",    "secret.txt"};
  const char *no[] = {"src/a.log", "app.js", "docs/keep.md", "buildx", "docs"};
  for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
    if (!img_ignore_match(&ig, yes[i]))
      fail_msg("%s should be excluded", yes[i]);
  for (size_t i = 0; i < ARRAY_SIZE(no); i++)
    if (img_ignore_match(&ig, no[i]))
      fail_msg("%s should be included", no[i]);
  img_ignore_clear(&ig);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
}

static void content_key(int root, const char *src, const img_ignore_t *ig,
                        char out[72]) {
  img_copy_list_t l = {.hash_content = true};
  kube_error_t err = KUBE_ERROR_INIT;
  if (img_copy_list_add(&l, root, src, ig, &err) < 0)
    fail_msg("%s: %s", src, err.message);
  img_hash_t h;
  img_hash_init(&h, NULL);
  img_copy_list_hash(&l, &h);
  img_hash_final(&h, out);
  img_copy_list_clear(&l);
}

static void test_copy_cache_key(void **state) {
  (void)state;
  char dir[64] = "/tmp/kube-img-df-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char sub[128];
  snprintf(sub, sizeof sub, "%s/src", dir);
  mkdir(sub, 0755);
  write_file(dir, "src/a.js", "one");
  write_file(dir, "src/b.js", "two");
  write_file(dir, "src/c.log", "log");
  int root = open(dir, O_PATH | O_DIRECTORY);
  img_ignore_t ig;
  kube_error_t err = KUBE_ERROR_INIT;
  img_ignore_parse("*.log\nsrc/*.log\n", &ig, &err);
  char k1[72], k2[72], k3[72], k4[72];
  content_key(root, "src", &ig, k1);
  /* same content, new mtime: same key */
  sleep(0);
  write_file(dir, "src/a.js", "one");
  content_key(root, "src", &ig, k2);
  assert_string_equal(k1, k2);
  /* an ignored file changes nothing */
  write_file(dir, "src/c.log", "changed");
  content_key(root, "src", &ig, k3);
  assert_string_equal(k1, k3);
  /* content changes the key */
  write_file(dir, "src/b.js", "TWO");
  content_key(root, "src", &ig, k4);
  assert_string_not_equal(k1, k4);
  /* globs */
  img_copy_list_t l = {.hash_content = true};
  assert_int_equal(img_copy_list_add(&l, root, "src/*.js", &ig, &err), 0);
  assert_int_equal(l.n_items, 2);
  img_copy_list_clear(&l);
  assert_int_equal(img_copy_list_add(&l, root, "src/*.none", &ig, &err), -1);
  kube_error_clear(&err);
  img_copy_list_clear(&l);
  /* sources cannot leave the context */
  assert_int_equal(img_copy_list_add(&l, root, "../../etc/passwd", &ig, &err),
                   -1);
  kube_error_clear(&err);
  img_copy_list_clear(&l);
  char link[128];
  snprintf(link, sizeof link, "%s/out", dir);
  symlink("/etc", link);
  assert_int_equal(img_copy_list_add(&l, root, "out/passwd", &ig, &err), -1);
  kube_error_clear(&err);
  img_copy_list_clear(&l);
  /* excluded sources are refused */
  assert_int_equal(img_copy_list_add(&l, root, "src/c.log", &ig, &err), -1);
  assert_non_null(strstr(err.message, ".dockerignore"));
  kube_error_clear(&err);
  img_copy_list_clear(&l);
  img_ignore_clear(&ig);
  close(root);
  img_rmtree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic),
      cmocka_unit_test(test_escape_directive),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_expand),
      cmocka_unit_test(test_config_instructions),
      cmocka_unit_test(test_dockerignore),
      cmocka_unit_test(test_copy_cache_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
