/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node agent over the fake transport of tests/lib (no pod is started
 * here: the privileged suite runs containers): Node registration (labels,
 * taint, podCIDR, nodeInfo, capacity), NotReady with the reason while the
 * CNI configuration or plugins are missing, Ready and the taint removed
 * once they are there (fake plugins), the Lease, pods refused at admission
 * (unsafe sysctls) with their Failed status and event, a missing volume
 * source (FailedMount, the pod waits), a status write answered Conflict
 * and retried; per-object reads (one watch per configMap/Secret a pod
 * reads, its own Node and pods only); and the pure parts: $(VAR) expansion,
 * /etc/resolv.conf and /etc/hosts, the pod phase, signals, cgroup shares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <libkube/kit.h>
#include <libkube/node.h>

#include "kube-test.h"
#include "node/agent.h"

struct env {
  kube_loop_t *loop;
  kt_fake_t *f;
  kube_transport_t tp;
  kube_informer_factory_t *inf;
  kube_node_agent_t *a;
  char dir[256], bin[300], conf[300];
  char cgroup[64]; /* the agent's cgroup parent, removed by env_free */
};

static void write_file(const char *path, const char *text, int mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static const char *fake_plugin = "#!/bin/sh\ncat >/dev/null\nexit 0\n";

/* with_plugins: fake bridge and portmap in the CNI bin directory;
 * per_object: the reads of an agent joined as system:node:n1. */
static void env_init_reads(struct env *e, bool with_plugins, bool per_object) {
  memset(e, 0, sizeof *e);
  snprintf(e->dir, sizeof e->dir, "/tmp/test-node-XXXXXX");
  assert_non_null(mkdtemp(e->dir));
  snprintf(e->bin, sizeof e->bin, "%s/bin", e->dir);
  snprintf(e->conf, sizeof e->conf, "%s/net.d", e->dir);
  mkdir(e->bin, 0755);
  if (with_plugins) {
    char p[400];
    snprintf(p, sizeof p, "%s/bridge", e->bin);
    write_file(p, fake_plugin, 0755);
    snprintf(p, sizeof p, "%s/portmap", e->bin);
    write_file(p, fake_plugin, 0755);
  }
  e->loop = kube_loop_new(NULL);
  e->f = kt_fake_new(e->loop);
  kt_fake_transport(e->f, &e->tp);
  e->inf = kube_informer_factory_new(e->loop, &e->tp, NULL);
  assert_non_null(e->inf);
  char rt[300], data[300];
  snprintf(rt, sizeof rt, "%s/rt", e->dir);
  snprintf(data, sizeof data, "%s/data", e->dir);
  snprintf(e->cgroup, sizeof e->cgroup, "libkube-unit-%d", (int)getpid());
  const char *labels[] = {"node-role.kubernetes.io/test=", NULL};
  kube_node_agent_options_t o = {.struct_size = sizeof o,
                                 .data_dir = data,
                                 .node_name = "n1",
                                 .node_ip = "10.9.8.7",
                                 .runtime_root = rt,
                                 .cgroup_parent = e->cgroup,
                                 .pod_cidr = "10.44.1.0/24",
                                 .cni_bridge = "kbtest0",
                                 .cni_conf_dir = e->conf,
                                 .cni_bin_dir = e->bin,
                                 .labels = labels,
                                 .kubelet_port = 10250,
                                 .per_object_reads = per_object,
                                 .workers = 2};
  kube_error_t err = KUBE_ERROR_INIT;
  e->a = kube_node_agent_new(e->loop, &e->tp, e->inf, &o, &err);
  if (!e->a)
    fail_msg("agent: %s", err.message);
  assert_int_equal(kube_node_agent_start(e->a, &err), 0);
}

static void env_init(struct env *e, bool with_plugins) {
  env_init_reads(e, with_plugins, false);
}

static void env_free(struct env *e) {
  kube_node_agent_free(e->a);
  kube_informer_factory_free(e->inf);
  kt_fake_free(e->f);
  kube_loop_free(e->loop);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
  assert_int_equal(system(cmd), 0);
  /* The agent leaves its (empty) QoS cgroups, as the kubelet does. */
  snprintf(cmd, sizeof cmd,
           "for d in /sys/fs/cgroup/*/%s; do [ -d \"$d\" ] && find \"$d\" "
           "-depth -type d -exec rmdir {} \\; ; done 2>/dev/null; true",
           e->cgroup);
  assert_int_equal(system(cmd), 0);
}

struct want {
  struct env *e;
  const char *api_version, *kind, *ns, *name, *needle;
};

static bool has(void *arg) {
  struct want *w = arg;
  char *s = kt_fake_get(w->e->f, w->api_version, w->kind, w->ns, w->name);
  bool ok = s && (!w->needle || strstr(s, w->needle));
  free(s);
  return ok;
}

static char *get(struct env *e, const char *av, const char *kind,
                 const char *ns, const char *name) {
  char *s = kt_fake_get(e->f, av, kind, ns, name);
  assert_non_null(s);
  return s;
}

static void expect(struct env *e, const char *av, const char *kind,
                   const char *ns, const char *name, const char *needle) {
  struct want w = {e, av, kind, ns, name, needle};
  if (!kt_run_until(e->loop, has, &w, 5000)) {
    char *s = kt_fake_get(e->f, av, kind, ns, name);
    fail_msg("%s %s: no \"%s\" in %s", kind, name, needle ? needle : "",
             s ? s : "(absent)");
  }
}

static void test_not_ready_without_cni(void **state) {
  struct env e;
  env_init(&e, false);
  expect(&e, "v1", "Node", NULL, "n1", "\"type\":\"Ready\"");
  char *node = get(&e, "v1", "Node", NULL, "n1");
  /* registration: the kubelet's labels, taint, podCIDR */
  const char *wants[] = {
      "\"kubernetes.io/hostname\":\"n1\"",
      "\"kubernetes.io/os\":\"linux\"",
      "\"node-role.kubernetes.io/test\":\"\"",
      "\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoSchedule\"",
      "\"podCIDR\":\"10.44.1.0/24\"",
      "\"kubeletVersion\":\"v1.32.0\"",
      "\"containerRuntimeVersion\":\"libkube://",
      "\"pods\":\"110\"",
      "\"type\":\"InternalIP\",\"address\":\"10.9.8.7\"",
      "\"kubeletEndpoint\":{\"Port\":10250}",
      "\"reason\":\"KubeletHasSufficientMemory\""};
  for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++)
    if (!strstr(node, wants[i]))
      fail_msg("no %s in %s", wants[i], node);
  /* NotReady, saying why */
  if (geteuid() == 0)
    assert_non_null(strstr(node, "container runtime network not ready: "
                                 "NetworkReady=false "
                                 "reason:NetworkPluginNotReady"));
  else
    assert_non_null(strstr(node, "needs root"));
  assert_non_null(strstr(node, "\"reason\":\"KubeletNotReady\""));
  free(node);
  expect(&e, "coordination.k8s.io/v1", "Lease", "kube-node-lease", "n1",
         "\"holderIdentity\":\"n1\"");
  kube_node_agent_stats_t st;
  kube_node_agent_get_stats(e.a, &st);
  assert_false(st.ready);
  env_free(&e);
}

static void test_ready_and_taint(void **state) {
  if (geteuid() != 0)
    skip(); /* the runtime needs root */
  struct env e;
  env_init(&e, true);
  expect(&e, "v1", "Node", NULL, "n1", "\"reason\":\"KubeletReady\"");
  /* the not-ready taint goes */
  struct want w = {&e, "v1", "Node", NULL, "n1", "not-ready"};
  bool gone = false;
  for (int i = 0; i < 50 && !gone; i++) {
    kt_run_for(e.loop, 100);
    gone = !has(&w);
  }
  assert_true(gone);
  /* the agent wrote its network for the pod CIDR */
  char p[400];
  snprintf(p, sizeof p, "%s/10-libkube.conflist", e.conf);
  FILE *f = fopen(p, "r");
  assert_non_null(f);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  assert_non_null(strstr(buf, "\"subnet\": \"10.44.1.0/24\""));
  assert_non_null(strstr(buf, "\"bridge\": \"kbtest0\""));
  kube_node_agent_stats_t st;
  kube_node_agent_get_stats(e.a, &st);
  assert_true(st.ready);
  assert_string_equal(kube_node_agent_name(e.a), "n1");
  env_free(&e);
}

static void add_pod(struct env *e, const char *name, const char *spec) {
  char json[4096];
  snprintf(json, sizeof json,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
           "\"%s\",\"namespace\":\"default\"},\"spec\":{\"nodeName\":\"n1\","
           "%s}}",
           name, spec);
  assert_true(kt_fake_add(e->f, json) > 0);
}

static void test_admission_and_mounts(void **state) {
  if (geteuid() != 0)
    skip();
  struct env e;
  env_init(&e, true);
  expect(&e, "v1", "Node", NULL, "n1", "\"reason\":\"KubeletReady\"");
  add_pod(&e, "sysctl",
          "\"securityContext\":{\"sysctls\":[{\"name\":\"kernel.msgmax\","
          "\"value\":\"1\"}]},\"containers\":[{\"name\":\"c\",\"image\":"
          "\"busybox\"}]");
  expect(&e, "v1", "Pod", "default", "sysctl",
         "\"reason\":\"SysctlForbidden\"");
  char *pod = get(&e, "v1", "Pod", "default", "sysctl");
  assert_non_null(strstr(pod, "\"phase\":\"Failed\""));
  assert_non_null(strstr(
      pod, "Pod forbidden sysctl: \\\"kernel.msgmax\\\" not allowlisted"));
  free(pod);
  add_pod(&e, "nocm",
          "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
          "\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\"}]}],"
          "\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":\"nope\"}}]");
  /* FailedMount: an event with the kubelet's words, the pod waits */
  bool seen = false;
  for (int i = 0; i < 50 && !seen; i++) {
    kt_run_for(e.loop, 100);
    for (size_t k = 0; k < kt_fake_n_actions(e.f) && !seen; k++) {
      const kt_action_t *act = kt_fake_action(e.f, k);
      seen =
          streq(act->method, "POST") && strstr(act->body, "FailedMount") &&
          strstr(act->body, "MountVolume.SetUp failed for volume \\\"v\\\" : "
                            "configmap \\\"nope\\\" not found");
    }
  }
  assert_true(seen);
  expect(&e, "v1", "Pod", "default", "nocm",
         "\"reason\":\"ContainerCreating\"");
  pod = get(&e, "v1", "Pod", "default", "nocm");
  assert_non_null(strstr(pod, "\"phase\":\"Pending\""));
  assert_non_null(strstr(pod, "\"qosClass\":\"BestEffort\""));
  assert_non_null(strstr(pod, "\"hostIP\":\"10.9.8.7\""));
  free(pod);
  env_free(&e);
}

static void test_status_conflict_retried(void **state) {
  if (geteuid() != 0)
    skip();
  struct env e;
  env_init(&e, true);
  expect(&e, "v1", "Node", NULL, "n1", "\"reason\":\"KubeletReady\"");
  /* the API server answers a merge patch racing another write with 409 */
  kt_fake_reply(e.f, "PATCH", "/api/v1/namespaces/default/pods/racy/status",
                409, NULL, 1);
  add_pod(&e, "racy",
          "\"securityContext\":{\"sysctls\":[{\"name\":\"kernel.msgmax\","
          "\"value\":\"1\"}]},\"containers\":[{\"name\":\"c\",\"image\":"
          "\"busybox\"}]");
  expect(&e, "v1", "Pod", "default", "racy", "\"reason\":\"SysctlForbidden\"");
  kube_node_agent_stats_t st;
  kube_node_agent_get_stats(e.a, &st);
  assert_int_equal(st.status_conflicts, 1);
  assert_true(kt_fake_count_actions(e.f, "PATCH",
                                    "/api/v1/namespaces/default/pods/racy/"
                                    "status") >= 2);
  env_free(&e);
}

/* The request of action i reads `path` with a query holding `needle`. */
static bool action_reads(struct env *e, size_t i, const char *path,
                         const char *needle) {
  const kt_action_t *a = kt_fake_action(e->f, i);
  return streq(a->method, "GET") && streq(a->path, path) &&
         (!needle || strstr(a->query, needle));
}

static bool reads(struct env *e, const char *path, const char *needle) {
  for (size_t i = 0; i < kt_fake_n_actions(e->f); i++)
    if (action_reads(e, i, path, needle))
      return true;
  return false;
}

struct reads_want {
  struct env *e;
  const char *path, *needle;
};

static bool has_read(void *arg) {
  struct reads_want *w = arg;
  return reads(w->e, w->path, w->needle);
}

static bool no_sources(void *arg) {
  return nd_sources_watched(((struct env *)arg)->a) == 0;
}

/* Per-object reads: only what the Node authorizer lets a node read. */
static void test_per_object_reads(void **state) {
  if (geteuid() != 0)
    skip();
  struct env e;
  env_init_reads(&e, true, true);
  expect(&e, "v1", "Node", NULL, "n1", "\"reason\":\"KubeletReady\"");
  assert_true(kt_fake_add(e.f, "{\"apiVersion\":\"v1\",\"kind\":"
                               "\"ConfigMap\",\"metadata\":{\"name\":\"cm1\","
                               "\"namespace\":\"default\"},\"data\":{\"k\":"
                               "\"v\"}}") > 0);
  add_pod(&e, "reader",
          "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
          "\"env\":[{\"name\":\"T\",\"valueFrom\":{\"secretKeyRef\":{"
          "\"name\":\"s1\",\"key\":\"k\"}}}],\"volumeMounts\":[{"
          "\"name\":\"v\",\"mountPath\":\"/v\"}]}],\"volumes\":[{\"name\":"
          "\"v\",\"configMap\":{\"name\":\"cm1\"}}]");
  /* one watch per object the pod reads, by name in its namespace */
  struct reads_want w = {&e, "/api/v1/namespaces/default/configmaps",
                         "fieldSelector=metadata.name%3Dcm1"};
  assert_true(kt_run_until(e.loop, has_read, &w, 5000));
  w = (struct reads_want){&e, "/api/v1/namespaces/default/secrets",
                          "fieldSelector=metadata.name%3Ds1"};
  assert_true(kt_run_until(e.loop, has_read, &w, 5000));
  assert_int_equal(nd_sources_watched(e.a), 2);
  /* its own Node and its own pods only, never a cluster-wide list of
   * configMaps or Secrets */
  assert_true(reads(&e, "/api/v1/nodes", "fieldSelector=metadata.name%3Dn1"));
  assert_true(reads(&e, "/api/v1/pods", "fieldSelector=spec.nodeName%3Dn1"));
  assert_false(reads(&e, "/api/v1/nodes", NULL) &&
               !reads(&e, "/api/v1/nodes", "metadata.name"));
  assert_false(reads(&e, "/api/v1/configmaps", NULL));
  assert_false(reads(&e, "/api/v1/secrets", NULL));
  /* the pod goes: so do its watches */
  assert_int_equal(kt_fake_delete(e.f, "v1", "Pod", "default", "reader"), 0);
  assert_true(kt_run_until(e.loop, no_sources, &e, 10000));
  env_free(&e);
}

/* ---- pure parts ---------------------------------------------------------- */

static void test_expand(void **state) {
  struct nd_env env = {0};
  nd_env_set(&env, "A", "x");
  nd_env_set(&env, "B", "y y");
  nd_env_set(&env, "A", "z"); /* replaces */
  const char *cases[][2] = {{"$(A)", "z"},     {"$(A)-$(B)", "z-y y"},
                            {"$$(A)", "$(A)"}, {"$(NOPE)", "$(NOPE)"},
                            {"$A", "$A"},      {"a$", "a$"},
                            {"$(A", "$(A"},    {"$$$(A)", "$z"},
                            {"", ""},          {"pre$(B)post", "prey ypost"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = nd_env_expand(cases[i][0], &env);
    assert_string_equal(s, cases[i][1]);
    free(s);
  }
  nd_env_clear(&env);
}

static kube_object_t *obj(const char *json) {
  kube_object_t *o = kube_object_from_json(json, strlen(json), NULL);
  assert_non_null(o);
  return o;
}

static void test_dns_files(void **state) {
  char dir[] = "/tmp/test-node-dns-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char rc[300];
  snprintf(rc, sizeof rc, "%s/resolv.conf", dir);
  write_file(rc,
             "# host\nnameserver 192.0.2.1\nnameserver 192.0.2.2\n"
             "search corp.example lab.example\noptions rotate\n",
             0644);
  struct kube_node_agent a;
  memset(&a, 0, sizeof a);
  a.cfg.cluster_dns = "10.96.0.10";
  a.cfg.cluster_domain = "cluster.local";
  a.cfg.resolv_conf = rc;
  kube_object_t *p =
      obj("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\"},\"spec\":{"
          "\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\"],\"searches\":[\"x.y\"],"
          "\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":"
          "\"edns0\"}]}}}");
  char *s = nd_resolv_conf(&a, p, NULL);
  assert_string_equal(s, "search ns1.svc.cluster.local svc.cluster.local "
                         "cluster.local corp.example lab.example x.y\n"
                         "nameserver 10.96.0.10\nnameserver 1.1.1.1\n"
                         "options ndots:2 edns0\n");
  free(s);
  kube_object_free(p);
  p = obj("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\"},\"spec\":{"
          "\"dnsPolicy\":\"Default\"}}");
  s = nd_resolv_conf(&a, p, NULL);
  assert_string_equal(s, "search corp.example lab.example\n"
                         "nameserver 192.0.2.1\nnameserver 192.0.2.2\n"
                         "options rotate\n");
  free(s);
  kube_object_free(p);
  /* ClusterFirst on the host network falls back to Default */
  p = obj("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\"},\"spec\":{"
          "\"hostNetwork\":true}}");
  s = nd_resolv_conf(&a, p, NULL);
  assert_non_null(strstr(s, "nameserver 192.0.2.1"));
  free(s);
  kube_object_free(p);
  p = obj("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\"},\"spec\":{"
          "\"dnsPolicy\":\"None\"}}");
  kube_error_t err = KUBE_ERROR_INIT;
  assert_null(nd_resolv_conf(&a, p, &err));
  kube_error_clear(&err);
  kube_object_free(p);
  p = obj("{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"ns1\"},\"spec\":{"
          "\"hostname\":\"web-0\",\"subdomain\":\"web\",\"hostAliases\":[{"
          "\"ip\":\"10.1.2.3\",\"hostnames\":[\"a.b\",\"c.d\"]}]}}");
  s = nd_hosts_file(&a, p, "10.42.0.9", false);
  assert_non_null(
      strstr(s, "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"));
  assert_non_null(
      strstr(s, "10.42.0.9\tweb-0.web.ns1.svc.cluster.local\tweb-0\n"));
  assert_non_null(
      strstr(s, "\n# Entries added by HostAliases.\n10.1.2.3\ta.b\tc.d\n"));
  free(s);
  char *h = nd_pod_hostname(p);
  assert_string_equal(h, "web-0");
  free(h);
  kube_object_free(p);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_phase(void **state) {
  struct kube_node_agent a;
  memset(&a, 0, sizeof a);
  struct nd_pod p;
  memset(&p, 0, sizeof p);
  struct nd_ctr c[2];
  memset(c, 0, sizeof c);
  c[0].kind = ND_INIT;
  c[1].kind = ND_APP;
  p.ctrs = c;
  p.n_ctrs = 2;
  kube_object_t *o = obj("{\"spec\":{\"restartPolicy\":\"Never\"}}");
  json_object *spec = nd_spec(o);
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Pending");
  c[0].has_cur = true;
  c[0].cur.state = ND_RUNNING;
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Pending");
  c[0].cur.state = ND_EXITED;
  c[0].cur.exit_code = 2;
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Failed"); /* init failed */
  c[0].cur.exit_code = 0;
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Pending");
  c[1].has_cur = true;
  c[1].cur.state = ND_RUNNING;
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Running");
  c[1].cur.state = ND_EXITED;
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Succeeded");
  c[1].cur.exit_code = 1;
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Failed");
  kube_object_free(o);
  o = obj("{\"spec\":{\"restartPolicy\":\"OnFailure\"}}");
  spec = nd_spec(o);
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Running"); /* restarts */
  c[1].cur.exit_code = 0;
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Succeeded");
  kube_object_free(o);
  o = obj("{\"spec\":{}}"); /* Always */
  spec = nd_spec(o);
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Running");
  p.term = ND_TERM_STOPPED; /* stopped by its deletion, exit 0 */
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Succeeded");
  p.rejected = true;
  assert_string_equal(nd_pod_phase(&a, &p, spec), "Failed");
  kube_object_free(o);
}

static void test_small(void **state) {
  assert_int_equal(nd_signal_parse("SIGTERM"), 15);
  assert_int_equal(nd_signal_parse("USR1"), 10);
  assert_int_equal(nd_signal_parse("9"), 9);
  assert_int_equal(nd_signal_parse(NULL), 15);
  assert_int_equal(nd_signal_parse("bogus"), 15);
  assert_int_equal(nd_cpu_shares(0), 2);
  assert_int_equal(nd_cpu_shares(1), 2);
  assert_int_equal(nd_cpu_shares(1000), 1024);
  assert_int_equal(nd_cpu_shares(250), 256);
  kube_object_t *o = obj(
      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":"
      "{\"cpu\":\"250m\"},\"limits\":{\"cpu\":\"500m\",\"memory\":\"64Mi\"}}},"
      "{\"name\":\"b\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":"
      "\"32Mi\"}}}]}}");
  kube_rt_resources_t r;
  nd_pod_resources(nd_spec(o), &r);
  assert_int_equal(r.cpu_shares, nd_cpu_shares(1250));
  assert_int_equal(r.cpu_quota, 150000);
  assert_int_equal(r.cpu_period, 100000);
  assert_int_equal(r.memory_limit, 96 << 20);
  nd_container_resources(
      json_object_array_get_idx(kube_json_get(nd_spec(o), "containers"), 0),
      &r);
  assert_int_equal(r.cpu_shares, 256);
  assert_int_equal(r.cpu_quota, 50000);
  assert_int_equal(r.memory_limit, 64 << 20);
  assert_string_equal(nd_qos_class(nd_spec(o)), "Burstable");
  kube_object_free(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_not_ready_without_cni),
      cmocka_unit_test(test_ready_and_taint),
      cmocka_unit_test(test_admission_and_mounts),
      cmocka_unit_test(test_status_conflict_retried),
      cmocka_unit_test(test_per_object_reads),
      cmocka_unit_test(test_expand),
      cmocka_unit_test(test_dns_files),
      cmocka_unit_test(test_phase),
      cmocka_unit_test(test_small),
  };
  return cmocka_run_group_tests_name("node", tests, NULL, NULL);
}
