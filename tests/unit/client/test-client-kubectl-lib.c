/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl.h helpers one by one: names, -o formats, lists, --sort-by,
 * custom columns, manifests, label/annotate changes, --save-config,
 * ConfigMap/Secret/Job generators, discovery listings, paged Table GETs.
 */
#include <sys/stat.h>

#include "client/describe.h"
#include "test-client.h"

static kube_object_t *obj(const char *json) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o = kube_object_from_json(json, strlen(json), &err);
  if (!o)
    fail_msg("bad test JSON: %s", err.message);
  return o;
}

static char *compact(const kube_object_t *o) {
  return kube_object_to_json(o, KUBE_JSON_COMPACT);
}

static void test_names(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  char buf[64];
  const kube_kind_t *k = kube_kind_lookup("deployment.apps", &err);
  assert_non_null(k);
  assert_string_equal(kube_kind_display_name(k, buf, sizeof buf),
                      "deployment.apps");
  k = kube_kind_lookup("po", &err);
  assert_string_equal(kube_kind_display_name(k, buf, sizeof buf), "pod");
  assert_null(kube_kind_lookup("nosuchkind", &err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  assert_string_equal(err.message,
                      "the server doesn't have a resource type \"nosuchkind\"");
  kube_error_clear(&err);

  kube_object_t *o = obj("{\"metadata\":{\"name\":\"x\"}}");
  assert_null(kube_kind_of_object(o, &err));
  assert_string_equal(err.message, "Object 'Kind' is missing in 'x'");
  kube_error_clear(&err);
  kube_object_free(o);
  o = obj("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\","
          "\"metadata\":{\"name\":\"w\"}}");
  assert_null(kube_kind_of_object(o, &err));
  assert_string_equal(err.message, "unable to recognize \"w\": no matches for "
                                   "kind \"Widget\" in version "
                                   "\"example.com/v1\"");
  kube_error_clear(&err);
  char *ref = kube_object_ref(o);
  assert_string_equal(ref, "widget/w");
  free(ref);
  kube_object_free(o);
}

static const char *pod_json =
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\","
    "\"managedFields\":[{\"manager\":\"m\"}],\"labels\":{\"b\":\"2\",\"a\":"
    "\"1\"}},\"spec\":{\"priority\":3}}";

static void test_output(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_output_t out;
  assert_int_equal(kube_output_parse(NULL, &out, &err), 0);
  assert_true(kube_output_is_table(&out));
  assert_int_equal(kube_output_parse("custom-columns=A:.a", &out, &err), 0);
  assert_int_equal(out.format, KUBE_OUTPUT_CUSTOM_COLUMNS);
  assert_string_equal(out.arg, "A:.a");
  assert_int_equal(kube_output_parse("xml", &out, &err), -1);
  assert_string_equal(err.message,
                      "unable to match a printer suitable for the output "
                      "format \"xml\", allowed formats are: "
                      "custom-columns,json,jsonpath,name,wide,yaml");
  kube_error_clear(&err);

  kube_object_t *p = obj(pod_json);
  assert_int_equal(kube_output_parse("json", &out, &err), 0);
  char *s = kube_output_object(p, &out, &err);
  /* Keys sorted, managedFields left out; the object itself unchanged. */
  assert_string_equal(s, "{\n"
                         "    \"apiVersion\": \"v1\",\n"
                         "    \"kind\": \"Pod\",\n"
                         "    \"metadata\": {\n"
                         "        \"labels\": {\n"
                         "            \"a\": \"1\",\n"
                         "            \"b\": \"2\"\n"
                         "        },\n"
                         "        \"name\": \"p\"\n"
                         "    },\n"
                         "    \"spec\": {\n"
                         "        \"priority\": 3\n"
                         "    }\n"
                         "}\n");
  free(s);
  assert_non_null(
      kube_object_get_string(p, "metadata.managedFields.0.manager"));
  out.show_managed_fields = true;
  s = kube_output_object(p, &out, &err);
  assert_non_null(strstr(s, "\"managedFields\""));
  free(s);
  assert_int_equal(kube_output_parse("yaml", &out, &err), 0);
  s = kube_output_object(p, &out, &err);
  assert_string_equal(s, "apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n"
                         "    a: \"1\"\n    b: \"2\"\n  name: p\nspec:\n"
                         "  priority: 3\n");
  free(s);
  assert_int_equal(kube_output_parse("wide", &out, &err), 0);
  assert_null(kube_output_object(p, &out, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_output_parse("jsonpath={.metadata", &out, &err), 0);
  assert_null(kube_output_object(p, &out, &err));
  kube_error_clear(&err);
  kube_object_free(p);
}

static int count_items(const kube_object_t *item, void *ud) {
  int *n = ud;
  (*n)++;
  const char *name = kube_object_name(item);
  return name && strcmp(name, "stop") == 0 ? 42 : 0;
}

static void test_lists(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *l = kube_list_new(&err);
  char *s = compact(l);
  assert_string_equal(s, "{\"apiVersion\":\"v1\",\"items\":[],\"kind\":"
                         "\"List\",\"metadata\":{\"resourceVersion\":\"\"}}");
  free(s);
  const char *items[] = {"{\"metadata\":{\"name\":\"b\"},\"spec\":{\"n\":10}}",
                         "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"n\":9}}",
                         "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"n\":10}}",
                         "{\"metadata\":{\"name\":\"d\"}}"};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(kube_list_add(l, obj(items[i]), &err), 0);
  kube_object_t *other = obj("{\"kind\":\"PodList\",\"items\":[{\"metadata\":"
                             "{\"name\":\"stop\"}},{\"metadata\":{\"name\":"
                             "\"after\"}}]}");
  assert_int_equal(kube_list_extend(l, other, &err), 0);
  assert_int_equal(kube_list_length(l), 6);
  int n = 0;
  assert_int_equal(kube_list_foreach(l, count_items, &n), 42);
  assert_int_equal(n, 5);
  /* Numbers as numbers (9 < 10), ties in their order, missing last. */
  assert_int_equal(kube_object_sort_by(l, ".spec.n", &err), 0);
  kube_output_t out;
  assert_int_equal(
      kube_output_parse("jsonpath={.items[*].metadata.name}", &out, &err), 0);
  s = kube_output_object(l, &out, &err);
  assert_string_equal(s, "d stop after a b c");
  free(s);
  assert_int_equal(kube_object_sort_by(l, "{.metadata.name}", &err), 0);
  s = kube_output_object(l, &out, &err);
  assert_string_equal(s, "a after b c d stop");
  free(s);
  assert_int_equal(kube_object_sort_by(l, ".nothing", &err), -1);
  assert_string_equal(err.message, "couldn't find any field with path "
                                   "\"{.nothing}\" in the list of objects");
  kube_error_clear(&err);

  kube_object_t *t =
      kube_custom_columns_table(l, "NAME:.metadata.name,N:{.spec.n}", &err);
  kube_table_printer_t *p = kube_table_printer_new(0);
  assert_int_equal(kube_table_printer_add(p, t, NULL, &err), 0);
  s = kube_table_printer_render(p);
  assert_string_equal(s, "NAME    N\na       9\nafter   <none>\nb       10\n"
                         "c       10\nd       <none>\nstop    <none>\n");
  free(s);
  kube_table_printer_free(p);
  kube_object_free(t);
  assert_null(kube_custom_columns_table(l, "NAME", &err));
  assert_string_equal(err.message, "unexpected custom-columns spec: NAME, "
                                   "expected <header>:<json-path-expr>");
  kube_error_clear(&err);

  kube_object_t *e = kube_watch_event_new("ADDED", l, &err);
  assert_string_equal(kube_object_get_string(e, "type"), "ADDED");
  assert_string_equal(kube_object_get_string(e, "object.kind"), "List");
  kube_object_free(e);
  kube_object_free(l);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "we");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_manifests(void **state) {
  (void)state;
  char dir[] = "/tmp/kube-manifest-XXXXXX", path[256];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/b.yaml", dir);
  write_file(path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n"
                   "---\n---\napiVersion: v1\nkind: List\nitems:\n"
                   "- {apiVersion: v1, kind: ConfigMap, metadata: {name: two}}"
                   "\n");
  snprintf(path, sizeof path, "%s/a.json", dir);
  write_file(path, "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":"
                   "{\"name\":\"first\"}}");
  snprintf(path, sizeof path, "%s/notes.txt", dir);
  write_file(path, "not a manifest");
  snprintf(path, sizeof path, "%s/sub", dir);
  assert_int_equal(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/sub/c.yml", dir);
  write_file(path,
             "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: deep\n");
  kube_error_t err = KUBE_ERROR_INIT;
  kube_manifest_t m = KUBE_MANIFEST_INIT;
  assert_int_equal(kube_manifest_read(&m, dir, false, &err), 0);
  assert_int_equal(m.n, 3);
  assert_string_equal(kube_object_name(m.objects[0]), "first");
  assert_string_equal(kube_object_name(m.objects[2]), "two");
  snprintf(path, sizeof path, "%s/b.yaml", dir);
  assert_string_equal(m.sources[1], path);
  kube_manifest_clear(&m);
  assert_int_equal(kube_manifest_read(&m, dir, true, &err), 0);
  assert_int_equal(m.n, 4);
  assert_string_equal(kube_object_name(m.objects[3]), "deep");
  snprintf(path, sizeof path, "%s/missing.yaml", dir);
  assert_int_equal(kube_manifest_read(&m, path, false, &err), -1);
  assert_int_equal(m.n, 4); /* what was read stays */
  char want[300];
  snprintf(want, sizeof want, "the path \"%s\" does not exist", path);
  assert_string_equal(err.message, want);
  kube_error_clear(&err);
  snprintf(path, sizeof path, "%s/notes.txt", dir);
  write_file(path, "a: [\n");
  assert_int_equal(kube_manifest_read(&m, path, false, &err), -1);
  assert_true(str_has_prefix(err.message, "error parsing "));
  kube_error_clear(&err);
  kube_manifest_clear(&m);
  kube_manifest_clear(NULL);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void collect_label(const char *k, const char *v, void *ud) {
  kube_strbuf_printf(ud, "%s=%s;", k, v);
}

static void test_meta_changes(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_true(kube_meta_change_arg("a=b"));
  assert_true(kube_meta_change_arg("a-"));
  assert_false(kube_meta_change_arg("-"));
  assert_false(kube_meta_change_arg("pod"));
  const char *args[] = {"env=prod", "gone-", "env=dev", "example.com/x=1"};
  kube_meta_change_t *ch = NULL;
  size_t n = 0;
  assert_int_equal(kube_meta_changes_parse(args, 4, false, &ch, &n, &err), 0);
  assert_int_equal(n, 3);
  assert_string_equal(ch[0].key, "env");
  assert_string_equal(ch[0].value, "dev"); /* first place, last value */
  assert_null(ch[1].value);
  char *patch = kube_meta_changes_patch(ch, n, false, "7", &err);
  assert_string_equal(patch, "{\"metadata\":{\"labels\":{\"env\":\"dev\","
                             "\"gone\":null,\"example.com/x\":\"1\"},"
                             "\"resourceVersion\":\"7\"}}");
  free(patch);
  patch = kube_meta_changes_patch(ch, 1, true, NULL, &err);
  assert_string_equal(patch,
                      "{\"metadata\":{\"annotations\":{\"env\":\"dev\"}}}");
  free(patch);
  kube_meta_changes_free(ch, n);
  const char *bad[] = {"bad key=x"};
  assert_int_equal(kube_meta_changes_parse(bad, 1, false, &ch, &n, &err), -1);
  assert_string_equal(err.message, "invalid label spec: bad key=x");
  kube_error_clear(&err);
  /* Label values have rules, annotation values do not. */
  const char *spaces[] = {"note=hello world"};
  assert_int_equal(kube_meta_changes_parse(spaces, 1, false, &ch, &n, &err),
                   -1);
  kube_error_clear(&err);
  assert_int_equal(kube_meta_changes_parse(spaces, 1, true, &ch, &n, &err), 0);
  kube_meta_changes_free(ch, n);

  kube_object_t *p = obj(pod_json);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  assert_int_equal(kube_object_foreach_label(p, false, collect_label, &sb), 2);
  assert_string_equal(sb.data, "b=2;a=1;"); /* the object's order */
  kube_strbuf_clear(&sb);
  assert_int_equal(kube_object_foreach_label(p, true, collect_label, &sb), 0);
  kube_object_free(p);
}

static void test_save_config(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o =
      obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
          "\"name\":\"c\",\"annotations\":{\"" KUBE_LAST_APPLIED_ANNOTATION
          "\":\"old\"}},\"data\":{\"u\":\"http://x/y\"}}");
  assert_int_equal(kube_object_set_last_applied(o, &err), 0);
  /* The configuration without the old annotation, unescaped slashes. */
  assert_string_equal(
      kube_object_annotation(o, KUBE_LAST_APPLIED_ANNOTATION),
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
      "\"c\",\"annotations\":{}},\"data\":{\"u\":\"http://x/y\"}}\n");
  kube_object_free(o);
}

static void test_data_generators(void **state) {
  (void)state;
  char dir[] = "/tmp/kube-gen-XXXXXX", path[256], sub[256];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/a.txt", dir);
  write_file(path, "hello\n");
  snprintf(sub, sizeof sub, "%s/bin", dir);
  write_file(sub, "\xff\xfe");
  char from_a[300], renamed[300], env[300];
  snprintf(from_a, sizeof from_a, "%s", path);
  snprintf(renamed, sizeof renamed, "r=%s", path);
  snprintf(env, sizeof env, "%s/env", dir);
  write_file(env, "\xEF\xBB\xBF"
                  "A=1\n# comment\n  B=two words\n\nKUBE_TEST_FROM_ENV\n");
  setenv("KUBE_TEST_FROM_ENV", "set", 1);
  const char *files[] = {from_a, renamed, sub, NULL};
  const char *lits[] = {"k=v", "q='x'", NULL};
  const char *envs[] = {env, NULL};
  kube_generate_data_options_t g = {.struct_size = sizeof g,
                                    .name = "cm",
                                    .files = files,
                                    .literals = lits,
                                    .env_files = envs};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *cm = kube_generate_configmap(&g, &err);
  assert_non_null(cm);
  char *s = compact(cm);
  assert_string_equal(
      s,
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
      "\"creationTimestamp\":null,\"name\":\"cm\"},\"data\":{\"a.txt\":"
      "\"hello\\n\",\"r\":\"hello\\n\",\"k\":\"v\",\"q\":\"'x'\",\"A\":\"1\","
      "\"B\":\"two words\",\"KUBE_TEST_FROM_ENV\":\"set\"},\"binaryData\":"
      "{\"bin\":\"//4=\"}}");
  free(s);
  kube_object_free(cm);
  g.type = "kubernetes.io/basic-auth";
  g.files = NULL;
  g.env_files = NULL;
  kube_object_t *sec = kube_generate_secret(&g, &err);
  s = compact(sec);
  assert_string_equal(
      s, "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{"
         "\"creationTimestamp\":null,\"name\":\"cm\"},\"data\":{\"k\":\"dg==\","
         "\"q\":\"J3gn\"},\"type\":\"kubernetes.io/basic-auth\"}");
  free(s);
  kube_object_free(sec);
  const char *dup[] = {"k=v", "k=w", NULL};
  g.literals = dup;
  assert_null(kube_generate_configmap(&g, &err));
  assert_string_equal(err.message,
                      "cannot add key \"k\", another key by that name already "
                      "exists in Data for ConfigMap \"cm\"");
  kube_error_clear(&err);
  assert_null(kube_generate_secret(&g, &err));
  assert_string_equal(err.message, "cannot add key k, another key by that "
                                   "name already exists");
  kube_error_clear(&err);
  const char *novalue[] = {"novalue", NULL};
  g.literals = novalue;
  assert_null(kube_generate_configmap(&g, &err));
  assert_string_equal(err.message,
                      "invalid literal source novalue, expected key=value");
  kube_error_clear(&err);
  char keyed_dir[300];
  snprintf(keyed_dir, sizeof keyed_dir, "k=%s", dir);
  const char *dirs[] = {keyed_dir, NULL};
  g.literals = NULL;
  g.files = dirs;
  assert_null(kube_generate_configmap(&g, &err));
  assert_string_equal(err.message,
                      "cannot give a key name for a directory path");
  kube_error_clear(&err);

  const char *cmd[] = {"date", "-u", NULL};
  kube_generate_options_t j = {
      .struct_size = sizeof j, .name = "j", .image = "busybox", .args = cmd};
  kube_object_t *job = kube_generate_job(&j, &err);
  s = compact(job);
  assert_string_equal(
      s, "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{"
         "\"creationTimestamp\":null,\"name\":\"j\"},\"spec\":{\"template\":{"
         "\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":"
         "[{\"command\":[\"date\",\"-u\"],\"image\":\"busybox\",\"name\":\"j\","
         "\"resources\":{}}],\"restartPolicy\":\"Never\"}}},\"status\":{}}");
  free(s);
  kube_object_free(job);
  j.image = NULL;
  assert_null(kube_generate_job(&j, &err));
  assert_string_equal(err.message, "either --image or --from must be "
                                   "specified");
  kube_error_clear(&err);
  char rm[300];
  snprintf(rm, sizeof rm, "rm -rf %s", dir);
  assert_int_equal(system(rm), 0);
}

/* Discovery and paged GETs against canned answers. */
static json_object *answers(const char *const *pairs) {
  json_object *m = json_object_new_object();
  for (size_t i = 0; pairs[i]; i += 3) {
    json_object *r = json_object_new_object();
    json_object_object_add(r, "status",
                           json_object_new_int(atoi(pairs[i + 1])));
    json_object_object_add(r, "body", json_object_new_string(pairs[i + 2]));
    json_object_object_add(m, pairs[i], r);
  }
  return m;
}

static void test_api_resources(void **state) {
  (void)state;
  const char *pairs[] = {
      "/api/v1",
      "200",
      "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
      "{\"name\":\"pods\",\"namespaced\":true,\"kind\":\"Pod\",\"verbs\":["
      "\"get\",\"list\"],\"shortNames\":[\"po\"],\"categories\":[\"all\"]},"
      "{\"name\":\"pods/log\",\"namespaced\":true,\"kind\":\"Pod\"},"
      "{\"name\":\"nodes\",\"namespaced\":false,\"kind\":\"Node\",\"verbs\":["
      "\"get\"]}]}",
      "/apis",
      "200",
      "{\"kind\":\"APIGroupList\",\"groups\":[{\"name\":\"apps\","
      "\"preferredVersion\":{\"groupVersion\":\"apps/v1\"}},{\"name\":"
      "\"broken.io\",\"preferredVersion\":{\"groupVersion\":\"broken.io/v1\"}}"
      "]}",
      "/apis/apps/v1",
      "200",
      "{\"kind\":\"APIResourceList\",\"groupVersion\":\"apps/v1\","
      "\"resources\":[{\"name\":\"deployments\",\"namespaced\":true,\"kind\":"
      "\"Deployment\",\"shortNames\":[\"deploy\"]}]}",
      NULL};
  json_object *m = answers(pairs);
  struct canned s;
  kube_client_t *c = canned_start(&s, m);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_api_resource_list_t l;
  assert_int_equal(kube_client_api_resources(c, NULL, &l, &err), 0);
  assert_int_equal(l.n, 3);
  assert_int_equal(l.n_failures, 1);
  assert_true(str_has_prefix(l.failures[0], "broken.io/v1: "));
  kube_object_t *t = kube_api_resources_table(&l, true, &err);
  kube_table_printer_t *p = kube_table_printer_new(0);
  assert_int_equal(kube_table_printer_add(p, t, NULL, &err), 0);
  char *out = kube_table_printer_render(p);
  assert_string_equal(
      out, "NAME          SHORTNAMES   APIVERSION   NAMESPACED   KIND"
           "         VERBS      CATEGORIES\n"
           "nodes                      v1           false        Node"
           "         get        \n"
           "pods          po           v1           true         Pod"
           "          get,list   all\n"
           "deployments   deploy       apps/v1      true         "
           "Deployment              \n");
  free(out);
  kube_table_printer_free(p);
  kube_object_free(t);
  kube_api_resource_list_clear(&l);
  kube_api_resources_options_t o = {
      .struct_size = sizeof o, .namespaced = 0, .api_group = ""};
  assert_int_equal(kube_client_api_resources(c, &o, &l, &err), 0);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.items[0].name, "nodes");
  kube_api_resource_list_clear(&l);
  canned_stop(&s, c);
  json_object_put(m);
}

static void test_paged_gets(void **state) {
  (void)state;
  const char *pairs[] = {
      "/api/v1/namespaces/ns/pods?labelSelector=a%3Db&limit=1",
      "200",
      "{\"kind\":\"PodList\",\"metadata\":{\"continue\":\"t+1=\"},\"items\":["
      "{\"metadata\":{\"name\":\"p1\"}}]}",
      "/api/v1/namespaces/ns/"
      "pods?labelSelector=a%3Db&limit=1&continue=t%2B1%3D",
      "200",
      "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\"},"
      "\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
      "\"name\":\"p2\"}}]}",
      "/api/v1/pods?includeObject=Object",
      "200",
      "{\"kind\":\"Table\",\"columnDefinitions\":[{\"name\":\"Name\"}],"
      "\"rows\":[{\"cells\":[\"x\"]}]}",
      "/api/v1/namespaces/ns/pods/x",
      "404",
      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
      "\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\","
      "\"code\":404}",
      NULL};
  json_object *m = answers(pairs);
  struct canned s;
  kube_client_t *c = canned_start(&s, m);
  kube_error_t err = KUBE_ERROR_INIT;
  const kube_kind_t *pods = kube_kind_by_kind("v1", "Pod");
  kube_get_options_t go = {
      .struct_size = sizeof go, .label_selector = "a=b", .chunk_size = 1};
  kube_object_t *l = kube_client_list_all(c, pods, "ns", &go, &err);
  assert_non_null(l);
  assert_int_equal(kube_list_length(l), 2);
  /* Items get apiVersion and kind, first. */
  char *s2 = compact(l);
  assert_non_null(strstr(s2, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                             "\"metadata\":{\"name\":\"p1\"}}"));
  free(s2);
  kube_object_free(l);
  kube_get_options_t all = {.struct_size = sizeof all, .include_object = true};
  kube_object_t *t = kube_client_get_table(c, pods, NULL, NULL, &all, &err);
  assert_non_null(t);
  assert_string_equal(kube_object_get_string(t, "rows.0.cells.0"), "x");
  kube_object_free(t);
  assert_null(kube_client_get_table(c, pods, "ns", "x", NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  canned_stop(&s, c);
  assert_string_equal(s.misses, "");
  json_object_put(m);
}

/* Describers are chosen by group and Kind, as kubectl's map is keyed by
 * GroupKind: a custom resource that happens to be called Deployment is
 * described generically, not as an apps/v1 Deployment. */
static void test_describe_by_group(void **state) {
  (void)state;
  static const char *const verbs[] = {"get", NULL};
  const kube_kind_t custom = {.group = "example.com",
                              .version = "v1",
                              .kind = "Deployment",
                              .resource = "deployments",
                              .singular = "deployment",
                              .list_kind = "DeploymentList",
                              .namespaced = true,
                              .verbs = verbs};
  kube_object_t *o =
      obj("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Deployment\","
          "\"metadata\":{\"name\":\"d\",\"namespace\":\"ns\"},"
          "\"spec\":{\"replicas\":3,\"pipeline\":\"blue\"}}");
  kube_describe_options_t opts = {.struct_size = sizeof opts, .now = 1};
  kube_error_t err = KUBE_ERROR_INIT;
  char *got = kube_describe_object(NULL, &custom, o, &opts, &err);
  assert_non_null(got);
  assert_non_null(strstr(got, "Pipeline:  blue"));
  assert_null(strstr(got, "desired |"));
  free(got);
  const kube_kind_t *apps = kube_kind_lookup("deployment.apps", &err);
  assert_non_null(apps);
  got = kube_describe_object(NULL, apps, o, &opts, &err);
  assert_non_null(got);
  assert_non_null(strstr(got, "3 desired |"));
  assert_null(strstr(got, "Pipeline:"));
  free(got);
  kube_object_free(o);
}

int run_kubectl_lib_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_output),
      cmocka_unit_test(test_lists),
      cmocka_unit_test(test_manifests),
      cmocka_unit_test(test_meta_changes),
      cmocka_unit_test(test_save_config),
      cmocka_unit_test(test_data_generators),
      cmocka_unit_test(test_api_resources),
      cmocka_unit_test(test_paged_gets),
      cmocka_unit_test(test_describe_by_group),
  };
  return cmocka_run_group_tests_name("kubectl-lib", tests, NULL, NULL);
}
