/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RBAC: rule matching (verbs, API groups, resources with "*" and
 * "* /subresource", resourceNames, nonResourceURLs with a trailing "*"),
 * label selectors, and the authorizer over a real API server's store:
 * bindings by user, group and ServiceAccount, namespace scope, ClusterRole
 * aggregation (also after a change), the 403 wording, the Node
 * authorizer's ownership checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "apiserver/authz.h"

static struct as_rule rule_of(const char *json) {
  json_object *o = kube_json_parse(json, strlen(json), NULL);
  assert_non_null(o);
  struct as_rule r;
  assert_int_equal(as_rule_parse(o, &r), 0);
  json_object_put(o);
  return r;
}

static struct as_attrs res(const char *verb, const char *group,
                           const char *resource, const char *sub,
                           const char *ns, const char *name) {
  return (struct as_attrs){.verb = verb,
                           .resource = true,
                           .group = group,
                           .resource_name = resource,
                           .sub = sub,
                           .ns = ns,
                           .name = name};
}

static struct as_attrs path(const char *verb, const char *p) {
  return (struct as_attrs){.verb = verb, .resource = false, .path = p};
}

static void test_rule_matching(void **state) {
  struct as_rule r = rule_of("{\"verbs\":[\"get\",\"list\"],\"apiGroups\":"
                             "[\"\",\"apps\"],\"resources\":[\"pods\","
                             "\"deployments\",\"pods/log\"]}");
  struct as_attrs a = res("get", "", "pods", NULL, "default", "p");
  assert_true(as_rule_matches(&r, &a));
  a = res("list", "apps", "deployments", NULL, "default", NULL);
  assert_true(as_rule_matches(&r, &a));
  a = res("delete", "", "pods", NULL, "default", "p");
  assert_false(as_rule_matches(&r, &a)); /* verb */
  a = res("get", "batch", "pods", NULL, "default", "p");
  assert_false(as_rule_matches(&r, &a)); /* group */
  a = res("get", "", "pods", "log", "default", "p");
  assert_true(as_rule_matches(&r, &a)); /* pods/log */
  a = res("get", "", "pods", "exec", "default", "p");
  assert_false(as_rule_matches(&r, &a)); /* pods/exec is not pods */
  a = res("get", "", "services", NULL, "default", "s");
  assert_false(as_rule_matches(&r, &a));
  a = path("get", "/healthz");
  assert_false(as_rule_matches(&r, &a)); /* no URLs in a resource rule */
  as_rule_clear(&r);

  r = rule_of(
      "{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]}");
  a = res("deletecollection", "anything.example.com", "widgets", "status", NULL,
          NULL);
  assert_true(as_rule_matches(&r, &a));
  a = path("get", "/version");
  assert_false(as_rule_matches(&r, &a));
  as_rule_clear(&r);

  r = rule_of("{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":"
              "[\"*/status\"]}");
  a = res("get", "", "pods", "status", "ns", "p");
  assert_true(as_rule_matches(&r, &a));
  a = res("get", "", "pods", NULL, "ns", "p");
  assert_false(as_rule_matches(&r, &a));
  a = res("get", "", "pods", "scale", "ns", "p");
  assert_false(as_rule_matches(&r, &a));
  as_rule_clear(&r);
}

static void test_resource_names(void **state) {
  struct as_rule r =
      rule_of("{\"verbs\":[\"get\",\"list\",\"update\"],"
              "\"apiGroups\":[\"\"],\"resources\":"
              "[\"configmaps\"],\"resourceNames\":[\"a\",\"b\"]}");
  struct as_attrs a = res("get", "", "configmaps", NULL, "ns", "a");
  assert_true(as_rule_matches(&r, &a));
  a = res("update", "", "configmaps", NULL, "ns", "b");
  assert_true(as_rule_matches(&r, &a));
  a = res("get", "", "configmaps", NULL, "ns", "c");
  assert_false(as_rule_matches(&r, &a));
  /* A list (no name) is never allowed by a named rule. */
  a = res("list", "", "configmaps", NULL, "ns", NULL);
  assert_false(as_rule_matches(&r, &a));
  as_rule_clear(&r);
}

static void test_non_resource_urls(void **state) {
  struct as_rule r = rule_of("{\"verbs\":[\"get\"],\"nonResourceURLs\":"
                             "[\"/healthz\",\"/apis/*\"]}");
  struct as_attrs a = path("get", "/healthz");
  assert_true(as_rule_matches(&r, &a));
  a = path("get", "/healthz/etcd");
  assert_false(as_rule_matches(&r, &a));
  a = path("get", "/apis/apps/v1");
  assert_true(as_rule_matches(&r, &a));
  a = path("get", "/apis");
  assert_false(as_rule_matches(&r, &a)); /* the prefix is "/apis/" */
  a = path("post", "/healthz");
  assert_false(as_rule_matches(&r, &a));
  a = res("get", "", "healthz", NULL, NULL, NULL);
  assert_false(as_rule_matches(&r, &a));
  as_rule_clear(&r);
  r = rule_of("{\"verbs\":[\"*\"],\"nonResourceURLs\":[\"*\"]}");
  a = path("delete", "/anything/at/all");
  assert_true(as_rule_matches(&r, &a));
  as_rule_clear(&r);
}

static void test_label_selector(void **state) {
  const char *lj = "{\"rbac.example.com/aggregate-to-x\":\"true\","
                   "\"tier\":\"a\"}";
  json_object *labels = kube_json_parse(lj, strlen(lj), NULL);
  assert_non_null(labels);
  struct {
    const char *sel;
    bool want;
  } cases[] = {
      {"{\"matchLabels\":{\"rbac.example.com/aggregate-to-x\":\"true\"}}",
       true},
      {"{\"matchLabels\":{\"rbac.example.com/aggregate-to-x\":\"false\"}}",
       false},
      {"{}", true},
      {"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\","
       "\"values\":[\"a\",\"b\"]}]}",
       true},
      {"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\","
       "\"values\":[\"a\"]}]}",
       false},
      {"{\"matchExpressions\":[{\"key\":\"nope\",\"operator\":\"Exists\"}]}",
       false},
      {"{\"matchExpressions\":[{\"key\":\"nope\",\"operator\":"
       "\"DoesNotExist\"}]}",
       true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_object *s = kube_json_parse(cases[i].sel, strlen(cases[i].sel), NULL);
    assert_non_null(s);
    assert_int_equal(as_label_selector_matches(s, labels), cases[i].want);
    json_object_put(s);
  }
  assert_false(as_label_selector_matches(NULL, labels));
  json_object_put(labels);
}

static void test_forbidden_message(void **state) {
  static const char *const groups[] = {"system:authenticated", NULL};
  kube_apiserver_user_t alice = {"alice", groups};
  struct as_attrs a = res("list", "", "pods", NULL, "default", NULL);
  a.user = &alice;
  char *m = as_forbidden_message(&a, NULL);
  assert_string_equal(m, "pods is forbidden: User \"alice\" cannot list "
                         "resource \"pods\" in API group \"\" in the "
                         "namespace \"default\"");
  free(m);
  a = res("get", "apps", "deployments", "scale", NULL, "web");
  a.user = &alice;
  m = as_forbidden_message(&a, "extra reason");
  assert_string_equal(m, "deployments.apps \"web\" is forbidden: User "
                         "\"alice\" cannot get resource \"deployments/scale\" "
                         "in API group \"apps\" at the cluster scope: extra "
                         "reason");
  free(m);
  a = path("get", "/metrics");
  a.user = &alice;
  m = as_forbidden_message(&a, NULL);
  assert_string_equal(m,
                      "forbidden: User \"alice\" cannot get path \"/metrics\"");
  free(m);
}

/* ---- over a real API server ---- */

struct fx {
  kube_loop_t *loop;
  kube_store_t *store;
  kube_apiserver_t *srv;
};

struct done {
  int status;
  bool done;
};

static void reply_cb(int status, const char *ct, const char *data, size_t len,
                     bool done, void *arg) {
  struct done *d = arg;
  if (done) {
    d->status = status;
    d->done = true;
  }
}

static int call(struct fx *f, const char *method, const char *p,
                const char *body) {
  struct done d = {0};
  kube_apiserver_request_t rq = {.struct_size = sizeof rq,
                                 .method = method,
                                 .path = p,
                                 .body = body,
                                 .body_len = body ? strlen(body) : 0};
  assert_non_null(kube_apiserver_request(f->srv, &rq, reply_cb, &d, NULL));
  for (int i = 0; i < 500 && !d.done; i++)
    kube_loop_iterate(f->loop, 10);
  assert_true(d.done);
  /* The RBAC watch delivers from the loop. */
  for (int i = 0; i < 5; i++)
    kube_loop_iterate(f->loop, 0);
  return d.status;
}

static void fx_init(struct fx *f) {
  f->loop = kube_loop_new(NULL);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  f->store = kube_store_open(f->loop, &so, NULL);
  kube_apiserver_options_t ao = {
      .struct_size = sizeof ao, .token = "t", .bootstrap = true};
  f->srv = kube_apiserver_new(f->loop, f->store, &ao, NULL);
  assert_non_null(f->srv);
  for (int i = 0; i < 300 && !kube_apiserver_ready(f->srv); i++)
    kube_loop_iterate(f->loop, 10);
  assert_true(kube_apiserver_ready(f->srv));
  for (int i = 0; i < 5; i++)
    kube_loop_iterate(f->loop, 0);
}

static void fx_free(struct fx *f) {
  kube_apiserver_free(f->srv);
  for (int i = 0; i < 3; i++)
    kube_loop_iterate(f->loop, 0);
  kube_store_close(f->store);
  kube_loop_free(f->loop);
}

static bool allowed(struct fx *f, const char *user, const char *const *groups,
                    struct as_attrs a) {
  kube_apiserver_user_t u = {user, groups};
  a.user = &u;
  char *reason = NULL;
  bool ok = as_authorize(f->srv, &a, &reason);
  free(reason);
  return ok;
}

#define RBAC "/apis/rbac.authorization.k8s.io/v1/"

static void test_bindings(void **state) {
  struct fx f;
  fx_init(&f);
  static const char *const authed[] = {"system:authenticated", NULL};
  static const char *const devs[] = {"devs", "system:authenticated", NULL};
  static const char *const sa_groups[] = {"system:serviceaccounts",
                                          "system:serviceaccounts:team",
                                          "system:authenticated", NULL};
  static const char *const masters[] = {"system:masters", NULL};
  struct as_attrs list_pods = res("list", "", "pods", NULL, "team", NULL);
  assert_false(allowed(&f, "alice", authed, list_pods));
  assert_true(allowed(&f, "root", masters, list_pods));
  /* Defaults: discovery and the reviews for every authenticated user. */
  assert_true(allowed(&f, "alice", authed, path("get", "/apis/apps/v1")));
  assert_true(allowed(&f, "alice", authed,
                      res("create", "authorization.k8s.io",
                          "selfsubjectaccessreviews", NULL, NULL, NULL)));
  assert_false(allowed(&f, "alice", authed, path("get", "/metrics")));

  assert_int_equal(call(&f, "POST", "/api/v1/namespaces",
                        "{\"metadata\":{\"name\":\"team\"}}"),
                   201);
  assert_int_equal(
      call(&f, "POST", RBAC "namespaces/team/rolebindings",
           "{\"metadata\":{\"name\":\"a\"},\"roleRef\":{\"kind\":"
           "\"ClusterRole\",\"name\":\"view\"},\"subjects\":[{\"kind\":"
           "\"User\",\"name\":\"alice\"},{\"kind\":\"ServiceAccount\","
           "\"name\":\"robot\"}]}"),
      201);
  assert_true(allowed(&f, "alice", authed, list_pods));
  /* A RoleBinding grants in its namespace only. */
  assert_false(allowed(&f, "alice", authed,
                       res("list", "", "pods", NULL, "other", NULL)));
  assert_false(
      allowed(&f, "alice", authed, res("list", "", "pods", NULL, NULL, NULL)));
  /* view: no secrets, no writes. */
  assert_false(allowed(&f, "alice", authed,
                       res("get", "", "secrets", NULL, "team", "s")));
  assert_false(allowed(&f, "alice", authed,
                       res("create", "", "pods", NULL, "team", NULL)));
  /* The ServiceAccount subject defaults to the binding's namespace. */
  assert_true(
      allowed(&f, "system:serviceaccount:team:robot", sa_groups, list_pods));
  assert_false(
      allowed(&f, "system:serviceaccount:other:robot", sa_groups, list_pods));

  /* Groups, through a ClusterRoleBinding to a Role-less ClusterRole. */
  assert_int_equal(
      call(&f, "POST", RBAC "clusterroles",
           "{\"metadata\":{\"name\":\"node-reader\"},\"rules\":[{\"verbs\":"
           "[\"get\",\"list\"],\"apiGroups\":[\"\"],\"resources\":"
           "[\"nodes\"]}]}"),
      201);
  assert_int_equal(
      call(&f, "POST", RBAC "clusterrolebindings",
           "{\"metadata\":{\"name\":\"devs\"},\"roleRef\":{\"kind\":"
           "\"ClusterRole\",\"name\":\"node-reader\"},\"subjects\":[{\"kind\":"
           "\"Group\",\"name\":\"devs\"}]}"),
      201);
  struct as_attrs nodes = res("list", "", "nodes", NULL, NULL, NULL);
  assert_true(allowed(&f, "bob", devs, nodes));
  assert_false(allowed(&f, "bob", authed, nodes));
  /* Deleting the binding takes the grant away. */
  assert_int_equal(call(&f, "DELETE", RBAC "clusterrolebindings/devs", NULL),
                   200);
  assert_false(allowed(&f, "bob", devs, nodes));

  /* A binding to a role that does not exist grants nothing. */
  assert_int_equal(
      call(&f, "POST", RBAC "namespaces/team/rolebindings",
           "{\"metadata\":{\"name\":\"dangling\"},\"roleRef\":{\"kind\":"
           "\"Role\",\"name\":\"missing\"},\"subjects\":[{\"kind\":\"User\","
           "\"name\":\"carol\"}]}"),
      201);
  assert_false(allowed(&f, "carol", authed, list_pods));
  /* ... until it exists. */
  assert_int_equal(
      call(&f, "POST", RBAC "namespaces/team/roles",
           "{\"metadata\":{\"name\":\"missing\"},\"rules\":[{\"verbs\":"
           "[\"list\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}]}"),
      201);
  assert_true(allowed(&f, "carol", authed, list_pods));
  /* Validation: a RoleBinding's roleRef kind. */
  assert_int_equal(
      call(&f, "POST", RBAC "namespaces/team/rolebindings",
           "{\"metadata\":{\"name\":\"bad\"},\"roleRef\":{\"kind\":"
           "\"Pod\",\"name\":\"x\"},\"subjects\":[]}"),
      422);
  fx_free(&f);
}

static void test_aggregation(void **state) {
  struct fx f;
  fx_init(&f);
  static const char *const authed[] = {"system:authenticated", NULL};
  assert_int_equal(call(&f, "POST", "/api/v1/namespaces",
                        "{\"metadata\":{\"name\":\"team\"}}"),
                   201);
  assert_int_equal(
      call(&f, "POST", RBAC "namespaces/team/rolebindings",
           "{\"metadata\":{\"name\":\"a\"},\"roleRef\":{\"kind\":"
           "\"ClusterRole\",\"name\":\"admin\"},\"subjects\":[{\"kind\":"
           "\"User\",\"name\":\"alice\"}]}"),
      201);
  /* admin aggregates edit, which aggregates view. */
  assert_true(allowed(&f, "alice", authed,
                      res("list", "", "pods", NULL, "team", NULL)));
  assert_true(
      allowed(&f, "alice", authed,
              res("create", "apps", "deployments", NULL, "team", NULL)));
  assert_true(allowed(
      &f, "alice", authed,
      res("create", "rbac.authorization.k8s.io", "roles", NULL, "team", NULL)));
  struct as_attrs widgets =
      res("list", "example.com", "widgets", NULL, "team", NULL);
  assert_false(allowed(&f, "alice", authed, widgets));
  /* A new ClusterRole labelled aggregate-to-view reaches admin too. */
  assert_int_equal(
      call(&f, "POST", RBAC "clusterroles",
           "{\"metadata\":{\"name\":\"widgets-view\",\"labels\":{"
           "\"rbac.authorization.k8s.io/aggregate-to-view\":\"true\"}},"
           "\"rules\":[{\"verbs\":[\"list\"],\"apiGroups\":[\"example.com\"],"
           "\"resources\":[\"widgets\"]}]}"),
      201);
  assert_true(allowed(&f, "alice", authed, widgets));
  assert_int_equal(call(&f, "DELETE", RBAC "clusterroles/widgets-view", NULL),
                   200);
  assert_false(allowed(&f, "alice", authed, widgets));
  fx_free(&f);
}

static void test_node_authorizer(void **state) {
  struct fx f;
  fx_init(&f);
  static const char *const nodes[] = {"system:nodes", "system:authenticated",
                                      NULL};
  const char *n1 = "system:node:n1";
  assert_int_equal(
      call(&f, "POST", "/api/v1/namespaces/default/pods",
           "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\","
           "\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"envFrom\":[{"
           "\"configMapRef\":{\"name\":\"cm1\"}}]}],\"volumes\":[{\"name\":"
           "\"v\",\"secret\":{\"secretName\":\"s1\"}}]}}"),
      201);
  assert_true(
      allowed(&f, n1, nodes, res("get", "", "secrets", NULL, "default", "s1")));
  assert_true(allowed(&f, n1, nodes,
                      res("get", "", "configmaps", NULL, "default", "cm1")));
  assert_false(
      allowed(&f, n1, nodes, res("get", "", "secrets", NULL, "default", "s2")));
  assert_false(allowed(&f, n1, nodes,
                       res("list", "", "secrets", NULL, "default", NULL)));
  assert_false(allowed(&f, "system:node:n2", nodes,
                       res("get", "", "secrets", NULL, "default", "s1")));
  assert_true(allowed(&f, n1, nodes,
                      res("patch", "", "pods", "status", "default", "p")));
  assert_false(allowed(&f, "system:node:n2", nodes,
                       res("patch", "", "pods", "status", "default", "p")));
  assert_true(
      allowed(&f, n1, nodes, res("update", "", "nodes", "status", NULL, "n1")));
  assert_false(
      allowed(&f, n1, nodes, res("update", "", "nodes", "status", NULL, "n2")));
  assert_true(allowed(&f, n1, nodes,
                      res("update", "coordination.k8s.io", "leases", NULL,
                          "kube-node-lease", "n1")));
  assert_false(allowed(&f, n1, nodes,
                       res("update", "coordination.k8s.io", "leases", NULL,
                           "kube-node-lease", "n2")));
  /* Pods: the Node authorizer allows its own (the spec.nodeName field
   * selector); every pod, namespace and NetworkPolicy is readable through
   * RBAC's system:libkube:node-network-policy (NetworkPolicy enforcement
   * on every node), nothing more: a named list/watch of a Secret is a get
   * (the kubelet's per-object watch). */
  struct as_attrs own = res("watch", "", "pods", NULL, NULL, NULL);
  own.field_selector = "spec.nodeName=n1";
  assert_true(allowed(&f, n1, nodes, own));
  assert_true(
      allowed(&f, n1, nodes, res("get", "", "pods", NULL, "default", "p")));
  assert_true(
      allowed(&f, n1, nodes, res("list", "", "pods", NULL, NULL, NULL)));
  own.field_selector = "spec.nodeName=n2";
  assert_true(allowed(&f, n1, nodes, own));
  assert_true(allowed(&f, "system:node:n2", nodes,
                      res("get", "", "pods", NULL, "default", "p")));
  assert_true(
      allowed(&f, n1, nodes, res("watch", "", "namespaces", NULL, NULL, NULL)));
  assert_true(allowed(&f, n1, nodes,
                      res("list", "networking.k8s.io", "networkpolicies", NULL,
                          NULL, NULL)));
  assert_false(allowed(&f, n1, nodes,
                       res("create", "networking.k8s.io", "networkpolicies",
                           NULL, "default", NULL)));
  assert_false(allowed(&f, "system:node:n2", nodes,
                       res("delete", "", "pods", NULL, "default", "p")));
  assert_false(allowed(&f, "system:node:n2", nodes,
                       res("update", "", "pods", NULL, "default", "p")));
  assert_false(allowed(&f, "alice", NULL,
                       res("list", "", "pods", NULL, NULL, NULL)));
  assert_true(allowed(&f, n1, nodes,
                      res("watch", "", "secrets", NULL, "default", "s1")));
  assert_false(allowed(&f, n1, nodes,
                       res("watch", "", "secrets", NULL, "default", "s2")));
  assert_true(
      allowed(&f, n1, nodes, res("watch", "", "nodes", NULL, NULL, "n1")));
  assert_false(
      allowed(&f, n1, nodes, res("list", "", "nodes", NULL, NULL, NULL)));
  assert_false(
      allowed(&f, n1, nodes, res("get", "", "nodes", NULL, NULL, "n2")));
  assert_true(
      allowed(&f, n1, nodes, res("list", "", "services", NULL, NULL, NULL)));
  assert_false(
      allowed(&f, n1, nodes,
              res("create", "apps", "deployments", NULL, "default", NULL)));
  /* The cluster settings kubed server publishes: that one ConfigMap,
   * read only (a named list/watch: the field selector). */
  assert_true(allowed(&f, n1, nodes,
                      res("get", "", "configmaps", NULL, "kube-system",
                          "libkube-cluster")));
  assert_true(allowed(&f, n1, nodes,
                      res("watch", "", "configmaps", NULL, "kube-system",
                          "libkube-cluster")));
  assert_false(allowed(&f, n1, nodes,
                       res("update", "", "configmaps", NULL, "kube-system",
                           "libkube-cluster")));
  assert_false(allowed(&f, n1, nodes,
                       res("get", "", "configmaps", NULL, "kube-system",
                           "other")));
  assert_false(allowed(&f, n1, nodes,
                       res("get", "", "configmaps", NULL, "default",
                           "libkube-cluster")));
  assert_false(allowed(&f, n1, nodes,
                       res("list", "", "configmaps", NULL, "kube-system",
                           NULL)));
  /* A pod being deleted gracefully is still the node's to delete. */
  assert_int_equal(
      call(&f, "DELETE",
           "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=5", NULL),
      200);
  assert_true(
      allowed(&f, n1, nodes, res("delete", "", "pods", NULL, "default", "p")));
  assert_false(allowed(&f, "system:node:n2", nodes,
                       res("delete", "", "pods", NULL, "default", "p")));
  /* The graph follows the store: the pod goes, so does the access. */
  assert_int_equal(
      call(&f, "DELETE",
           "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0", NULL),
      200);
  assert_false(
      allowed(&f, n1, nodes, res("get", "", "secrets", NULL, "default", "s1")));
  fx_free(&f);
}

/* Writes are audited as audit.k8s.io/v1 Events; past the cap the file
 * moves to FILE.1. */
static void test_audit_log(void **state) {
  char dir[] = "/tmp/test-audit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char log[128], old[140];
  snprintf(log, sizeof log, "%s/audit.log", dir);
  snprintf(old, sizeof old, "%s.1", log);
  struct fx f;
  f.loop = kube_loop_new(NULL);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  f.store = kube_store_open(f.loop, &so, NULL);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao,
                                 .token = "t",
                                 .bootstrap = true,
                                 .audit_log = log,
                                 .audit_log_max_bytes = 4000};
  f.srv = kube_apiserver_new(f.loop, f.store, &ao, NULL);
  assert_non_null(f.srv);
  for (int i = 0; i < 300 && !kube_apiserver_ready(f.srv); i++)
    kube_loop_iterate(f.loop, 10);
  assert_int_equal(
      call(&f, "GET", "/api/v1/namespaces/default/configmaps", NULL), 200);
  for (int i = 0; i < 20; i++) {
    char body[128];
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"c%d\"}}", i);
    assert_int_equal(
        call(&f, "POST", "/api/v1/namespaces/default/configmaps", body), 201);
  }
  struct stat st;
  assert_int_equal(stat(old, &st), 0); /* rotated */
  assert_int_equal(stat(log, &st), 0);
  assert_true(st.st_size <= 4000);
  assert_int_equal(st.st_mode & 0777, 0600);
  FILE *fp = fopen(log, "r");
  assert_non_null(fp);
  char line[4096];
  int n = 0;
  while (fgets(line, sizeof line, fp)) {
    json_object *o = kube_json_parse(line, strlen(line), NULL);
    assert_non_null(o);
    assert_string_equal(kube_json_get_string(o, "apiVersion"),
                        "audit.k8s.io/v1");
    assert_string_equal(kube_json_get_string(o, "verb"), "create");
    assert_string_equal(kube_json_get_string(o, "objectRef.resource"),
                        "configmaps");
    assert_string_equal(kube_json_get_string(o, "user.username"),
                        "system:apiserver");
    json_object_put(o);
    n++;
  }
  fclose(fp);
  assert_true(n > 0);
  fx_free(&f);
  unlink(log);
  unlink(old);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rule_matching),
      cmocka_unit_test(test_resource_names),
      cmocka_unit_test(test_non_resource_urls),
      cmocka_unit_test(test_label_selector),
      cmocka_unit_test(test_forbidden_message),
      cmocka_unit_test(test_bindings),
      cmocka_unit_test(test_aggregation),
      cmocka_unit_test(test_node_authorizer),
      cmocka_unit_test(test_audit_log),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
