/* SPDX-License-Identifier: Apache-2.0 */
/* Table printer, JSONPath, generators and kubeconfig parsing. */
#include "test-client.h"

static kube_object_t *obj(const char *json) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o = kube_object_from_json(json, strlen(json), &err);
  if (!o)
    fail_msg("bad test JSON: %s", err.message);
  return o;
}

static const char *table_json =
    "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{},"
    "\"columnDefinitions\":["
    "{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\",\"priority\":0}"
    ","
    "{\"name\":\"Ready\",\"type\":\"string\",\"priority\":0},"
    "{\"name\":\"Restarts\",\"type\":\"integer\",\"priority\":0},"
    "{\"name\":\"IP\",\"type\":\"string\",\"priority\":1}],"
    "\"rows\":["
    "{\"cells\":[\"kubia\",\"1/1\",0,\"10.1.0.5\"],\"object\":{\"metadata\":"
    "{\"name\":\"kubia\",\"namespace\":\"default\",\"labels\":{\"run\":"
    "\"kubia\",\"a\":\"b\"}}}},"
    "{\"cells\":[\"a-much-longer-name\",\"0/"
    "1\",12,null],\"object\":{\"metadata\":"
    "{\"name\":\"a-much-longer-name\",\"namespace\":\"kube-system\"}}}]}";

static void test_table_basic(void **state) {
  (void)state;
  kube_object_t *t = obj(table_json);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_table_printer_t *p = kube_table_printer_new(0);
  assert_int_equal(kube_table_printer_add(p, t, "pod", &err), 0);
  assert_int_equal(kube_table_printer_rows(p), 2);
  char *s = kube_table_printer_render(p);
  assert_string_equal(s, "NAME                 READY   RESTARTS\n"
                         "kubia                1/1     0\n"
                         "a-much-longer-name   0/1     12\n");
  free(s);
  kube_table_printer_free(p);
  /* -o wide -A --show-labels, and kind prefixes. */
  p = kube_table_printer_new(KUBE_TABLE_WIDE | KUBE_TABLE_NAMESPACE |
                             KUBE_TABLE_SHOW_LABELS | KUBE_TABLE_KIND_PREFIX);
  assert_int_equal(kube_table_printer_add(p, t, "pod", &err), 0);
  s = kube_table_printer_render(p);
  assert_string_equal(s, "NAMESPACE     NAME                     READY   "
                         "RESTARTS   IP         LABELS\n"
                         "default       pod/kubia                1/1     0     "
                         "     10.1.0.5   a=b,run=kubia\n"
                         "kube-system   pod/a-much-longer-name   0/1     12    "
                         "     <none>     <none>\n");
  free(s);
  kube_table_printer_free(p);
  /* -L run -L app.kubernetes.io/x: label columns after the others. */
  p = kube_table_printer_new(0);
  const char *cols[] = {"run", "example.com/a", NULL};
  assert_int_equal(kube_table_printer_set_label_columns(p, cols, &err), 0);
  assert_int_equal(kube_table_printer_add(p, t, NULL, &err), 0);
  s = kube_table_printer_render(p);
  assert_string_equal(s, "NAME                 READY   RESTARTS   RUN     A\n"
                         "kubia                1/1     0          kubia   \n"
                         "a-much-longer-name   0/1     12                 \n");
  free(s);
  assert_int_equal(kube_table_printer_set_label_columns(p, cols, &err), -1);
  kube_error_clear(&err);
  kube_table_printer_free(p);
  kube_object_free(t);
  /* Not a Table. */
  t = obj("{\"kind\":\"PodList\",\"items\":[]}");
  p = kube_table_printer_new(KUBE_TABLE_NO_HEADERS);
  assert_int_equal(kube_table_printer_add(p, t, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_table_printer_free(p);
  kube_object_free(t);
}

static void test_table_watch_widths(void **state) {
  (void)state;
  kube_object_t *t = obj("{\"kind\":\"Table\",\"columnDefinitions\":[{\"name\":"
                         "\"Name\"},{\"name\":\"Age\"}],"
                         "\"rows\":[{\"cells\":[\"x\",\"5s\"]}]}");
  kube_object_t *t2 = obj("{\"kind\":\"Table\",\"columnDefinitions\":[{"
                          "\"name\":\"Name\"},{\"name\":\"Age\"}],"
                          "\"rows\":[{\"cells\":[\"y\",\"6s\"]}]}");
  kube_error_t err = KUBE_ERROR_INIT;
  kube_table_printer_t *p = kube_table_printer_new(0);
  assert_int_equal(kube_table_printer_add(p, t, NULL, &err), 0);
  char *s = kube_table_printer_render_new(p);
  assert_string_equal(s, "NAME   AGE\nx      5s\n");
  free(s);
  s = kube_table_printer_render_new(p);
  assert_string_equal(s, "");
  free(s);
  assert_int_equal(kube_table_printer_add(p, t2, NULL, &err), 0);
  s = kube_table_printer_render_new(p);
  assert_string_equal(s, "y      6s\n");
  free(s);
  kube_table_printer_free(p);
  /* An EVENT column for watch events. */
  p = kube_table_printer_new(KUBE_TABLE_EVENT);
  assert_int_equal(kube_table_printer_add_event(p, t, NULL, "ADDED", &err), 0);
  assert_int_equal(kube_table_printer_add_event(p, t2, NULL, "DELETED", &err),
                   0);
  s = kube_table_printer_render(p);
  assert_string_equal(
      s, "EVENT     NAME   AGE\nADDED     x      5s\nDELETED   y      6s\n");
  free(s);
  kube_table_printer_free(p);
  kube_object_free(t);
  kube_object_free(t2);
}

static void check_jp(const kube_object_t *o, const char *tmpl,
                     const char *want) {
  kube_error_t err = KUBE_ERROR_INIT;
  char *s = kube_jsonpath_eval(o, tmpl, &err);
  if (!s)
    fail_msg("%s: %s", tmpl, err.message);
  if (strcmp(s, want) != 0)
    fail_msg("%s: got \"%s\", want \"%s\"", tmpl, s, want);
  free(s);
}

static void test_jsonpath(void **state) {
  (void)state;
  kube_object_t *o =
      obj("{\"kind\":\"List\",\"items\":["
          "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app.kubernetes.io/"
          "name\":\"x\"}},"
          "\"spec\":{\"replicas\":2},\"status\":{\"conditions\":[{\"type\":"
          "\"Ready\","
          "\"status\":\"True\"},{\"type\":\"Other\",\"status\":\"False\"}]}},"
          "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"replicas\":3}}]}");
  check_jp(o, "{.kind}", "List");
  check_jp(o, "{.items[0].metadata.name}", "a");
  check_jp(o, "{.items[-1].metadata.name}", "b");
  check_jp(o, "{.items[*].metadata.name}", "a b");
  check_jp(o, "{.items[0:1].metadata.name}", "a");
  check_jp(o, "{$.items[1].spec.replicas}", "3");
  check_jp(o, "{.items[0].metadata.labels['app.kubernetes.io/name']}", "x");
  check_jp(o,
           "{range "
           ".items[*]}{.metadata.name}{\"\\t\"}{.spec.replicas}{\"\\n\"}{end}",
           "a\t2\nb\t3\n");
  check_jp(o, "{.items[0].status.conditions[?(@.type==\"Ready\")].status}",
           "True");
  check_jp(o, "{.items[?(@.spec.replicas==3)].metadata.name}", "b");
  check_jp(o, "{..name}", "a b");
  check_jp(o, "names: {.items[*].metadata.name}!", "names: a b!");
  check_jp(o, "{.items[0].spec}", "{\"replicas\":2}");
  check_jp(o, "{.missing.field}", "");
  kube_error_t err = KUBE_ERROR_INIT;
  assert_null(kube_jsonpath_eval(o, "{.items[0", &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_null(kube_jsonpath_eval(o, "{range .items[*]}{.x}", &err));
  kube_error_clear(&err);
  kube_object_free(o);
}

static void test_generators(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  const char *env[] = {"A=1", NULL};
  const char *args[] = {"sleep", "10", NULL};
  kube_generate_options_t g = {.struct_size = sizeof g,
                               .name = "kubia",
                               .image = "kubia",
                               .port = 8080,
                               .env = env,
                               .args = args};
  kube_object_t *pod = kube_generate_pod(&g, &err);
  assert_non_null(pod);
  char *js = kube_object_to_json(pod, KUBE_JSON_COMPACT);
  assert_string_equal(
      js,
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
      "\"creationTimestamp\":null,"
      "\"labels\":{\"run\":\"kubia\"},\"name\":\"kubia\"},\"spec\":{"
      "\"containers\":[{"
      "\"args\":[\"sleep\",\"10\"],\"env\":[{\"name\":\"A\",\"value\":\"1\"}],"
      "\"image\":\"kubia\",\"name\":\"kubia\",\"ports\":[{\"containerPort\":"
      "8080}],"
      "\"resources\":{}}],\"dnsPolicy\":\"ClusterFirst\",\"restartPolicy\":"
      "\"Always\"},"
      "\"status\":{}}");
  free(js);
  kube_generate_options_t d = {.struct_size = sizeof d,
                               .name = "web",
                               .image = "docker.io/library/nginx:1.25",
                               .replicas = 3};
  kube_object_t *dep = kube_generate_deployment(&d, &err);
  assert_non_null(dep);
  assert_string_equal(
      kube_object_get_string(dep, "spec.template.spec.containers.0.name"),
      "nginx");
  assert_string_equal(
      kube_object_get_string(dep, "spec.selector.matchLabels.app"), "web");
  /* expose a deployment: selector from matchLabels, port from options. */
  kube_expose_options_t eo = {
      .struct_size = sizeof eo, .port = 80, .target_port = "8080"};
  kube_object_t *svc = kube_generate_expose(dep, &eo, &err);
  assert_non_null(svc);
  js = kube_object_to_json(svc, KUBE_JSON_COMPACT);
  assert_non_null(strstr(
      js,
      "\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]"));
  assert_non_null(strstr(js, "\"selector\":{\"app\":\"web\"}"));
  free(js);
  kube_object_free(svc);
  /* expose a pod without --port: the container port. */
  eo.port = 0;
  eo.target_port = NULL;
  svc = kube_generate_expose(pod, &eo, &err);
  assert_non_null(svc);
  js = kube_object_to_json(svc, KUBE_JSON_COMPACT);
  assert_non_null(strstr(js, "\"port\":8080"));
  assert_non_null(strstr(js, "\"selector\":{\"run\":\"kubia\"}"));
  free(js);
  kube_object_free(svc);
  const char *tcp[] = {"80:8080", NULL};
  svc = kube_generate_service("web", NULL, "nodeport", tcp, NULL, &err);
  assert_non_null(svc);
  assert_string_equal(kube_object_get_string(svc, "spec.type"), "NodePort");
  assert_string_equal(kube_object_get_string(svc, "spec.ports.0.name"),
                      "80-8080");
  kube_object_free(svc);
  /* Bad input. */
  const char *bad_tcp[] = {"x:1", NULL};
  assert_null(
      kube_generate_service("web", NULL, "clusterip", bad_tcp, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_null(kube_generate_service("web", NULL, "weird", tcp, NULL, &err));
  kube_error_clear(&err);
  g.image = NULL;
  assert_null(kube_generate_pod(&g, &err));
  kube_error_clear(&err);
  g.image = "x";
  g.name = "Bad_Name";
  assert_null(kube_generate_pod(&g, &err));
  kube_error_clear(&err);
  kube_object_t *ns = kube_generate_namespace("team", &err);
  assert_string_equal(kube_object_kind(ns), "Namespace");
  kube_object_free(ns);
  kube_object_free(dep);
  kube_object_free(pod);
}

/* kubectl debug's patch and node pod (kube_generate_debug_patch,
 * kube_generate_node_debug_pod). */
static void test_debug_generators(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  const char *text =
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
      "\"web\"},\"spec\":{\"containers\":[{\"name\":\"app\"}],"
      "\"ephemeralContainers\":[{\"name\":\"old\"}]}}";
  kube_object_t *pod = kube_object_from_json(text, strlen(text), &err);
  assert_non_null(pod);
  const char *args[] = {"sh", "-c", "true", NULL};
  kube_debug_options_t o = {.struct_size = sizeof o,
                            .container = "dbg",
                            .image = "busybox",
                            .target = "app",
                            .args = args,
                            .stdin_ = true,
                            .tty = true};
  char *name = NULL;
  char *patch = kube_generate_debug_patch(pod, &o, &name, &err);
  assert_non_null(patch);
  assert_string_equal(name, "dbg");
  assert_string_equal(
      patch, "{\"spec\":{\"$setElementOrder/ephemeralContainers\":[{\"name\":"
             "\"old\"},{\"name\":\"dbg\"}],\"ephemeralContainers\":[{"
             "\"command\":[\"sh\",\"-c\",\"true\"],\"image\":\"busybox\","
             "\"name\":\"dbg\",\"resources\":{},\"stdin\":true,\"tty\":true,"
             "\"terminationMessagePolicy\":\"File\",\"targetContainerName\":"
             "\"app\"}]}}");
  free(patch);
  free(name);
  /* no name: debugger-XXXXX; a used name is refused */
  o.container = NULL;
  patch = kube_generate_debug_patch(pod, &o, &name, &err);
  assert_non_null(patch);
  assert_int_equal(strlen(name), strlen("debugger-xxxxx"));
  assert_true(strncmp(name, "debugger-", 9) == 0);
  free(patch);
  free(name);
  o.container = "old";
  assert_null(kube_generate_debug_patch(pod, &o, &name, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  o.container = NULL;
  o.image = NULL;
  assert_null(kube_generate_debug_patch(pod, &o, &name, &err));
  kube_error_clear(&err);
  o.image = "busybox";
  kube_object_t *np = kube_generate_node_debug_pod("n1", &o, &err);
  assert_non_null(np);
  assert_true(strncmp(kube_object_get_string(np, "metadata.name"),
                      "node-debugger-n1-", 17) == 0);
  assert_string_equal(kube_object_get_string(np, "spec.nodeName"), "n1");
  assert_string_equal(kube_object_get_string(np, "spec.restartPolicy"),
                      "Never");
  assert_string_equal(
      kube_object_get_string(np, "spec.containers.0.volumeMounts.0.mountPath"),
      "/host");
  assert_string_equal(
      kube_object_get_string(np, "spec.volumes.0.hostPath.path"), "/");
  assert_string_equal(
      kube_object_get_string(np, "spec.tolerations.0.operator"), "Exists");
  kube_object_free(np);
  assert_null(kube_generate_node_debug_pod("", &o, &err));
  kube_error_clear(&err);
  kube_object_free(pod);
}

static const char *kubeconfig =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: local\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443\n"
    "    certificate-authority: ca.crt\n"
    "- name: sock\n"
    "  cluster:\n"
    "    server: unix:/run/kubed.sock\n"
    "    insecure-skip-tls-verify: true\n"
    "    certificate-authority-data: aGVsbG8gd29ybGQ=\n"
    "users:\n"
    "- name: admin\n"
    "  user:\n"
    "    token: abc123\n"
    "- name: basic\n"
    "  user:\n"
    "    username: u\n"
    "    password: p\n"
    "contexts:\n"
    "- name: dev\n"
    "  context:\n"
    "    cluster: local\n"
    "    user: admin\n"
    "    namespace: team\n"
    "- name: other\n"
    "  context:\n"
    "    cluster: sock\n"
    "    user: basic\n"
    "- name: broken\n"
    "  context:\n"
    "    cluster: nope\n"
    "    user: admin\n";

static void test_kubeconfig(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_kubeconfig_t *kc = kube_kubeconfig_parse(kubeconfig, strlen(kubeconfig),
                                                "/etc/k", NULL, &err);
  assert_non_null(kc);
  assert_string_equal(kc->context, "dev");
  assert_string_equal(kc->server, "https://127.0.0.1:6443");
  assert_string_equal(kc->token, "abc123");
  assert_string_equal(kc->namespace_, "team");
  assert_string_equal(kc->certificate_authority, "/etc/k/ca.crt");
  assert_false(kc->insecure_skip_tls_verify);
  kube_kubeconfig_free(kc);
  kc = kube_kubeconfig_parse(kubeconfig, strlen(kubeconfig), NULL, "other",
                             &err);
  assert_non_null(kc);
  assert_string_equal(kc->server, "unix:/run/kubed.sock");
  assert_true(kc->insecure_skip_tls_verify);
  assert_string_equal(kc->certificate_authority_data, "hello world");
  assert_string_equal(kc->username, "u");
  assert_null(kc->token);
  assert_null(kc->namespace_);
  kube_kubeconfig_free(kc);
  assert_null(kube_kubeconfig_parse(kubeconfig, strlen(kubeconfig), NULL,
                                    "missing", &err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  assert_non_null(strstr(err.message, "context was not found"));
  kube_error_clear(&err);
  assert_null(kube_kubeconfig_parse(kubeconfig, strlen(kubeconfig), NULL,
                                    "broken", &err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  assert_null(kube_kubeconfig_parse("a: [", 4, NULL, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  /* Loading from a file through $KUBECONFIG, then a client from it. */
  char dir[] = "/tmp/kube-kc-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[64];
  snprintf(path, sizeof path, "%s/config", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(kubeconfig, f);
  fclose(f);
  setenv("KUBECONFIG", path, 1);
  kube_client_t *c = kube_client_new_from_kubeconfig(NULL, "other", &err);
  assert_non_null(c);
  assert_string_equal(kube_client_server(c), "unix:/run/kubed.sock");
  assert_string_equal(kube_client_namespace(c), "default");
  kube_client_free(c);
  kube_client_options_t o = {.struct_size = sizeof o,
                             .namespace_ = "x",
                             .server = "http://127.0.0.1:1"};
  c = kube_client_new(&o, &err);
  assert_non_null(c);
  assert_string_equal(kube_client_server(c), "http://127.0.0.1:1");
  assert_string_equal(kube_client_namespace(c), "x");
  kube_client_free(c);
  /* An explicit kubeconfig that does not exist is an error. */
  assert_null(
      kube_client_new_from_kubeconfig("/nonexistent/config", NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  /* No kubeconfig anywhere: the default kubed socket. */
  setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
  char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
  setenv("HOME", dir, 1);
  c = kube_client_new(NULL, &err);
  assert_non_null(c);
  assert_true(str_has_prefix(kube_client_server(c), "unix:"));
  kube_client_free(c);
  if (home) {
    setenv("HOME", home, 1);
    free(home);
  }
  unlink(path);
  rmdir(dir);
}

static void test_paths(void **state) {
  (void)state;
  char *p = kube_client_path(kube_kind_resolve("po"), "ns", "x", "log");
  assert_string_equal(p, "/api/v1/namespaces/ns/pods/x/log");
  free(p);
  p = kube_client_path(kube_kind_resolve("deploy"), NULL, NULL, NULL);
  assert_string_equal(p, "/apis/apps/v1/deployments");
  free(p);
  p = kube_client_path(kube_kind_resolve("nodes"), "ignored", "n1", NULL);
  assert_string_equal(p, "/api/v1/nodes/n1");
  free(p);
  assert_int_equal(kube_patch_type_parse("json"), KUBE_PATCH_JSON);
  assert_int_equal(kube_patch_type_parse("nope"), -1);
  assert_string_equal(kube_patch_type_content_type(KUBE_PATCH_APPLY),
                      "application/apply-patch+yaml");
}

int run_print_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_basic),
      cmocka_unit_test(test_table_watch_widths),
      cmocka_unit_test(test_jsonpath),
      cmocka_unit_test(test_generators),
      cmocka_unit_test(test_debug_generators),
      cmocka_unit_test(test_kubeconfig),
      cmocka_unit_test(test_paths),
  };
  return cmocka_run_group_tests_name("client-print", tests, NULL, NULL);
}
