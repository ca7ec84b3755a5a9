/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-authz: nanoseconds per authorization decision on an in-process API
 * server (memory store) holding the default roles plus N namespaces, each
 * with a Role and a RoleBinding for its own user and a ClusterRoleBinding
 * per group: system:masters (short-circuit), an RBAC user allowed through
 * its namespace's binding, the same user refused (every binding of its
 * subjects looked at), and a node reading a Secret of one of its pods
 * (the Node authorizer's graph).
 *
 * Wall time (CLOCK_MONOTONIC), mean over many decisions; no peer, no
 * percentiles.
 *
 * usage: bench-authz [--json] [N]   (default 2000)
 * With --json the last line is one JSON object of the four figures.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/authz.h"

static kube_loop_t *loop;
static kube_apiserver_t *srv;

struct done {
  bool done;
  int status;
};

static void cb(int status, const char *ct, const char *d, size_t l, bool done,
               void *arg) {
  struct done *x = arg;
  if (done) {
    x->done = true;
    x->status = status;
  }
}

static int call(const char *m, const char *p, const char *body) {
  struct done d = {0};
  kube_apiserver_request_t rq = {.struct_size = sizeof rq,
                                 .method = m,
                                 .path = p,
                                 .body = body,
                                 .body_len = body ? strlen(body) : 0};
  if (!kube_apiserver_request(srv, &rq, cb, &d, NULL))
    return -1;
  while (!d.done)
    kube_loop_iterate(loop, 10);
  return d.status;
}

static double per_op(const struct as_attrs *a, int iters, bool want) {
  struct timespec t0, t1;
  /* Warm up: the first decision after a change rebuilds the index (the
   * Node authorizer's first one builds its graph). */
  char *r0 = NULL;
  as_authorize(srv, a, &r0);
  free(r0);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < iters; i++) {
    char *reason = NULL;
    bool ok = as_authorize(srv, a, &reason);
    free(reason);
    if (ok != want) {
      fprintf(stderr, "bench-authz: unexpected decision\n");
      exit(1);
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
          (double)(t1.tv_nsec - t0.tv_nsec)) /
         iters;
}

int main(int argc, char **argv) {
  int n = 2000;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      json = true;
    else if (argv[i][0] >= '1' && argv[i][0] <= '9')
      n = atoi(argv[i]);
    else {
      fprintf(stderr, "usage: bench-authz [--json] [NAMESPACES]\n");
      return 2;
    }
  }
  loop = kube_loop_new(NULL);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  kube_store_t *store = kube_store_open(loop, &so, NULL);
  kube_apiserver_options_t ao = {
      .struct_size = sizeof ao, .token = "t", .bootstrap = true};
  srv = kube_apiserver_new(loop, store, &ao, NULL);
  while (!kube_apiserver_ready(srv))
    kube_loop_iterate(loop, 10);
  char path[256], body[1024];
  for (int i = 0; i < n; i++) {
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"ns%d\"}}", i);
    call("POST", "/api/v1/namespaces", body);
    snprintf(path, sizeof path,
             "/apis/rbac.authorization.k8s.io/v1/namespaces/ns%d/roles", i);
    call("POST", path,
         "{\"metadata\":{\"name\":\"r\"},\"rules\":[{\"verbs\":[\"get\","
         "\"list\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\","
         "\"configmaps\"]},{\"verbs\":[\"*\"],\"apiGroups\":[\"apps\"],"
         "\"resources\":[\"deployments\"]}]}");
    snprintf(path, sizeof path,
             "/apis/rbac.authorization.k8s.io/v1/namespaces/ns%d/rolebindings",
             i);
    snprintf(body, sizeof body,
             "{\"metadata\":{\"name\":\"b\"},\"roleRef\":{\"kind\":\"Role\","
             "\"name\":\"r\"},\"subjects\":[{\"kind\":\"User\",\"name\":"
             "\"user%d\"},{\"kind\":\"Group\",\"name\":\"team\"}]}",
             i);
    call("POST", path, body);
  }
  call("POST", "/api/v1/namespaces/ns0/pods",
       "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\","
       "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}],\"volumes\":[{"
       "\"name\":\"v\",\"secret\":{\"secretName\":\"s\"}}]}}");
  for (int i = 0; i < 10; i++)
    kube_loop_iterate(loop, 0);
  static const char *const masters[] = {"system:masters", NULL};
  static const char *const team[] = {"team", "system:authenticated", NULL};
  static const char *const nodes[] = {"system:nodes", "system:authenticated",
                                      NULL};
  char uname[32];
  snprintf(uname, sizeof uname, "user%d", n / 2);
  char nsname[32];
  snprintf(nsname, sizeof nsname, "ns%d", n / 2);
  kube_apiserver_user_t admin = {"admin", masters};
  kube_apiserver_user_t user = {uname, team};
  kube_apiserver_user_t node = {"system:node:n1", nodes};
  struct as_attrs get = {.user = &admin,
                         .verb = "get",
                         .resource = true,
                         .group = "",
                         .resource_name = "pods",
                         .ns = nsname,
                         .name = "x"};
  int iters = 200000;
  printf("bench-authz: %d namespaces, each with a Role and a RoleBinding "
         "(its user and the group \"team\": %d bindings for that group)\n",
         n, n);
  double ns_masters = per_op(&get, iters, true);
  printf("  system:masters get pods          %8.0f ns\n", ns_masters);
  get.user = &user;
  double ns_allowed = per_op(&get, iters / 10, true);
  printf("  RBAC user, allowed (own ns)      %8.0f ns\n", ns_allowed);
  struct as_attrs del = get;
  del.verb = "delete";
  double ns_refused = per_op(&del, iters / 100 + 1, false);
  printf("  RBAC user, refused (%d ns)    %8.0f ns\n", n, ns_refused);
  struct as_attrs sec = {.user = &node,
                         .verb = "get",
                         .resource = true,
                         .group = "",
                         .resource_name = "secrets",
                         .ns = "ns0",
                         .name = "s"};
  double ns_node = per_op(&sec, iters, true);
  printf("  node get secret of its pod       %8.0f ns\n", ns_node);
  if (json)
    printf("{\"namespaces\": %d, \"clock\": \"wall\", "
           "\"masters_get_ns\": %.0f, \"rbac_allowed_ns\": %.0f, "
           "\"rbac_refused_ns\": %.0f, \"node_get_secret_ns\": %.0f}\n",
           n, ns_masters, ns_allowed, ns_refused, ns_node);
  kube_apiserver_free(srv);
  for (int i = 0; i < 3; i++)
    kube_loop_iterate(loop, 0);
  kube_store_close(store);
  kube_loop_free(loop);
  return 0;
}
