/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the scheduler library: every filter and score plugin, the
 * explanations, preemption report, batches, dry runs, incremental state
 * and the config file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include <libkube/scheduler.h>

#define streq(a, b) (strcmp((a), (b)) == 0)
#define GI (1024LL * 1024 * 1024)
#define MI (1024LL * 1024)

static kube_sched_node_t mknode(const char *name, int64_t cpu, int64_t mem) {
  kube_sched_node_t n = {0};
  n.name = name;
  n.allocatable.cpu_milli = cpu;
  n.allocatable.memory = mem;
  n.allocatable.pods = 110;
  return n;
}

static kube_sched_pod_t mkpod(const char *name, int64_t cpu, int64_t mem) {
  kube_sched_pod_t p = {0};
  p.namespace_ = "default";
  p.name = name;
  p.requests.cpu_milli = cpu;
  p.requests.memory = mem;
  return p;
}

static kube_scheduler_t *mksched(const kube_scheduler_config_t *cfg) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_t *s = kube_scheduler_new(cfg, &err);
  assert_non_null(s);
  return s;
}

static void add_node(kube_scheduler_t *s, const kube_sched_node_t *n) {
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_scheduler_add_node(s, n, &err), 0);
}

static void bind(kube_scheduler_t *s, const kube_sched_pod_t *p,
                 const char *node) {
  kube_error_t err = KUBE_ERROR_INIT;
  int r = kube_scheduler_add_pod(s, p, node, &err);
  if (r < 0)
    fail_msg("bind %s: %s", p->name, err.message);
}

/* Schedule one pod; returns the node name (static buffer) or the message. */
static char last[2048];
static const char *place(kube_scheduler_t *s, const kube_sched_pod_t *p) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_result_t r;
  assert_int_equal(kube_scheduler_schedule(s, p, &r, &err), 0);
  snprintf(last, sizeof(last), "%s", r.node ? r.node : r.message);
  kube_sched_result_clear(&r);
  return last;
}

/* ---- NodeResourcesFit ---- */

static void test_most_allocated_packs(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_node_t a = mknode("a", 4000, 8 * GI),
                    b = mknode("b", 4000, 8 * GI);
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_pod_t p0 = mkpod("p0", 1000, GI);
  bind(s, &p0, "b");
  kube_sched_pod_t p = mkpod("p", 500, 512 * MI);
  assert_string_equal(place(s, &p), "b");
  kube_scheduler_free(s);
}

static void test_least_allocated_spreads(void **state) {
  kube_scheduler_config_t cfg;
  kube_scheduler_config_init(&cfg);
  cfg.strategy = KUBE_SCHED_LEAST_ALLOCATED;
  kube_scheduler_t *s = mksched(&cfg);
  kube_sched_node_t a = mknode("a", 4000, 8 * GI),
                    b = mknode("b", 4000, 8 * GI);
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_pod_t p0 = mkpod("p0", 1000, GI);
  bind(s, &p0, "b");
  kube_sched_pod_t p = mkpod("p", 500, 512 * MI);
  assert_string_equal(place(s, &p), "a");
  kube_scheduler_free(s);
}

static void test_requested_to_capacity_ratio(void **state) {
  kube_scheduler_config_t cfg;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_config_init(&cfg);
  /* A decreasing shape spreads, an increasing one packs. */
  assert_int_equal(
      kube_scheduler_config_parse(&cfg,
                                  "strategy = RequestedToCapacityRatio\n"
                                  "shape = 0:10, 100:0\n"
                                  "score.NodeResourcesBalancedAllocation = 0\n",
                                  &err),
      0);
  kube_scheduler_t *s = mksched(&cfg);
  kube_sched_node_t a = mknode("a", 4000, 8 * GI),
                    b = mknode("b", 4000, 8 * GI);
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_pod_t p0 = mkpod("p0", 2000, 4 * GI);
  bind(s, &p0, "a");
  kube_sched_pod_t p = mkpod("p", 500, 512 * MI);
  assert_string_equal(place(s, &p), "b");
  kube_scheduler_free(s);

  assert_int_equal(
      kube_scheduler_config_parse(&cfg, "shape = 0:0, 100:10", &err), 0);
  s = mksched(&cfg);
  add_node(s, &a);
  add_node(s, &b);
  bind(s, &p0, "a");
  assert_string_equal(place(s, &p), "a");
  kube_scheduler_free(s);
}

/* libkube.io/VectorFit (the packing profile): vector best fit, and a pod
 * that would leave a nearly full node unbalanced goes elsewhere. */
static const char vector_fit_profile[] =
    "score.libkube.io/VectorFit = 1\n"
    "score.NodeResourcesFit = 0\n"
    "score.NodeResourcesBalancedAllocation = 0\n"
    "percentageOfNodesToScore = 100\n";

static kube_scheduler_t *vf_sched(bool vector_fit) {
  kube_scheduler_config_t cfg;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_config_init(&cfg);
  if (vector_fit)
    assert_int_equal(
        kube_scheduler_config_parse(&cfg, vector_fit_profile, &err), 0);
  assert_int_equal(cfg.vector_fit_weight, vector_fit ? 1 : 0);
  kube_scheduler_t *s = mksched(&cfg);
  static const char *names[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) {
    kube_sched_node_t n = mknode(names[i], 16000, 64 * GI);
    add_node(s, &n);
  }
  return s;
}

static void test_vector_fit(void **state) {
  /* Best fit: of two balanced nodes and an empty one, the fullest. */
  kube_scheduler_t *s = vf_sched(true);
  kube_sched_pod_t pa = mkpod("pa", 8000, 32 * GI), pb = mkpod("pb", 4000,
                                                              16 * GI);
  bind(s, &pa, "a");
  bind(s, &pb, "b");
  kube_sched_pod_t p = mkpod("p", 1000, 4 * GI);
  assert_string_equal(place(s, &p), "a");
  kube_scheduler_free(s);

  /* a is at 87.5% CPU, 62.5% memory; c holds a memory-heavy pod, so the
   * cluster asks as much CPU as memory.  This CPU-heavy pod would fill a's
   * CPU and strand 22Gi: the default profile (MostAllocated) takes a,
   * VectorFit c, which the pod evens out (not the empty b). */
  kube_sched_pod_t full = mkpod("full", 14000, 40 * GI);
  kube_sched_pod_t memp = mkpod("memp", 2000, 24 * GI);
  kube_sched_pod_t cpu = mkpod("cpu", 2000, 2 * GI);
  s = vf_sched(false);
  bind(s, &full, "a");
  bind(s, &memp, "c");
  assert_string_equal(place(s, &cpu), "a");
  kube_scheduler_free(s);
  s = vf_sched(true);
  bind(s, &full, "a");
  bind(s, &memp, "c");
  assert_string_equal(place(s, &cpu), "c");
  bind(s, &cpu, "c");
  /* A memory-heavy pod evens a out: VectorFit takes a. */
  kube_sched_pod_t mem = mkpod("mem", 1000, 16 * GI);
  assert_string_equal(place(s, &mem), "a");
  kube_scheduler_free(s);

  /* Skewed demand: every pod is CPU-heavy.  Usage that follows the demand
   * is not penalized, so the CPU-heavy pod fills a (best fit) rather than
   * opening b. */
  s = vf_sched(true);
  bind(s, &full, "a");
  assert_string_equal(place(s, &cpu), "a");
  kube_scheduler_free(s);

  /* The weight is a kube-scheduler plugin weight: 0..100. */
  kube_scheduler_config_t cfg;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_config_init(&cfg);
  assert_int_equal(kube_scheduler_config_parse(
                       &cfg, "score.libkube.io/VectorFit = 101\n", &err),
                   -1);
  assert_non_null(strstr(err.message, "libkube.io/VectorFit"));
  kube_error_clear(&err);
  assert_int_equal(cfg.vector_fit_weight, 0);
}

static void test_balanced_allocation(void **state) {
  kube_scheduler_config_t cfg;
  kube_scheduler_config_init(&cfg);
  cfg.score_weight[KUBE_SCHED_SCORE_NODE_RESOURCES_FIT] = 0;
  kube_scheduler_t *s = mksched(&cfg);
  kube_sched_node_t a = mknode("a", 4000, 4 * GI),
                    b = mknode("b", 4000, 4 * GI);
  add_node(s, &a);
  add_node(s, &b);
  /* a is CPU heavy already; a memory heavy pod balances it. */
  kube_sched_pod_t p0 = mkpod("p0", 2000, 256 * MI);
  bind(s, &p0, "a");
  kube_sched_pod_t p = mkpod("p", 100, 2 * GI);
  assert_string_equal(place(s, &p), "a");
  kube_scheduler_free(s);
}

static void test_insufficient_messages(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_node_t a = mknode("a", 1000, 2 * GI),
                    b = mknode("b", 1000, 2 * GI);
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_pod_t p = mkpod("big", 2000, 1 * GI);
  assert_string_equal(
      place(s, &p), "0/2 nodes are available: 2 Insufficient cpu. preemption: "
                    "0/2 nodes are available: 2 No preemption victims found "
                    "for incoming pod.");
  kube_sched_pod_t q = mkpod("both", 2000, 4 * GI);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_result_t r;
  assert_int_equal(kube_scheduler_schedule(s, &q, &r, &err), 0);
  assert_null(r.node);
  assert_string_equal(r.message,
                      "0/2 nodes are available: 2 Insufficient cpu, 2 "
                      "Insufficient memory. preemption: 0/2 nodes are "
                      "available: 2 No preemption victims found for incoming "
                      "pod.");
  assert_int_equal(r.n_reasons, 2);
  assert_string_equal(r.reasons[0].reason, "Insufficient cpu");
  assert_int_equal(r.reasons[0].count, 2);
  kube_sched_result_clear(&r);
  kube_scheduler_free(s);
}

static void test_extended_and_pod_count(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_resource_t gpu = {"nvidia.com/gpu", 1};
  kube_sched_node_t a = mknode("a", 8000, 8 * GI),
                    b = mknode("b", 8000, 8 * GI);
  a.allocatable.n_extended = 1;
  a.allocatable.extended = &gpu;
  b.allocatable.pods = 1;
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_pod_t filler = mkpod("filler", 100, MI);
  bind(s, &filler, "b");
  kube_sched_resource_t want = {"nvidia.com/gpu", 1};
  kube_sched_pod_t p = mkpod("gpu", 100, MI);
  p.requests.n_extended = 1;
  p.requests.extended = &want;
  assert_string_equal(place(s, &p), "a");
  bind(s, &p, "a");
  kube_sched_pod_t p2 = p;
  p2.name = "gpu2";
  assert_string_equal(place(s, &p2),
                      "0/2 nodes are available: 1 Too many pods, 2 "
                      "Insufficient nvidia.com/gpu. preemption: 0/2 nodes are "
                      "available: 2 No preemption victims found for incoming "
                      "pod.");
  kube_scheduler_free(s);
}

/* ---- TaintToleration, NodeUnschedulable, NodeName ---- */

static void test_taints(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_taint_t gpu = {"dedicated", "gpu", KUBE_TAINT_NO_SCHEDULE};
  kube_sched_node_t n[5];
  const char *names[] = {"n1", "n2", "n3", "n4", "n5"};
  for (int i = 0; i < 5; i++) {
    n[i] = mknode(names[i], i < 3 ? 500 : 8000, 8 * GI);
    if (i >= 3) {
      n[i].n_taints = 1;
      n[i].taints = &gpu;
    }
    add_node(s, &n[i]);
  }
  kube_sched_pod_t p = mkpod("p", 1000, GI);
  /* The example from kube-scheduler's docs, sorted as sort.Strings does. */
  assert_string_equal(place(s, &p),
                      "0/5 nodes are available: 2 node(s) had untolerated "
                      "taint {dedicated: gpu}, 3 Insufficient cpu. preemption: "
                      "0/5 nodes are available: 2 Preemption is not helpful "
                      "for scheduling, 3 No preemption victims found for "
                      "incoming pod.");
  kube_sched_toleration_t tol = {"dedicated", KUBE_TOLERATION_EQUAL, "gpu",
                                 KUBE_TAINT_NO_SCHEDULE};
  p.n_tolerations = 1;
  p.tolerations = &tol;
  const char *got = place(s, &p);
  assert_true(strcmp(got, "n4") == 0 || strcmp(got, "n5") == 0);
  /* Wrong value does not tolerate; Exists does; empty key Exists tolerates
   * everything. */
  tol.value = "tpu";
  assert_non_null(strstr(place(s, &p), "untolerated taint"));
  tol.op = KUBE_TOLERATION_EXISTS;
  assert_null(strstr(place(s, &p), "nodes are available"));
  kube_sched_toleration_t all = {NULL, KUBE_TOLERATION_EXISTS, NULL,
                                 KUBE_TAINT_ANY};
  p.tolerations = &all;
  assert_null(strstr(place(s, &p), "nodes are available"));
  /* A toleration for another effect does not count. */
  kube_sched_toleration_t noexec = {"dedicated", KUBE_TOLERATION_EXISTS, NULL,
                                    KUBE_TAINT_NO_EXECUTE};
  p.tolerations = &noexec;
  assert_non_null(strstr(place(s, &p), "untolerated taint {dedicated: gpu}"));
  kube_scheduler_free(s);
}

static void test_prefer_no_schedule(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_taint_t soft = {"spot", "", KUBE_TAINT_PREFER_NO_SCHEDULE};
  kube_sched_node_t a = mknode("a", 4000, 8 * GI),
                    b = mknode("b", 4000, 8 * GI);
  a.n_taints = 1;
  a.taints = &soft;
  add_node(s, &a);
  add_node(s, &b);
  /* a is fuller (MostAllocated likes it) but has a soft taint (weight 3). */
  kube_sched_pod_t p0 = mkpod("p0", 1000, GI);
  bind(s, &p0, "a");
  kube_sched_pod_t p = mkpod("p", 100, 100 * MI);
  assert_string_equal(place(s, &p), "b");
  kube_sched_toleration_t tol = {"spot", KUBE_TOLERATION_EXISTS, NULL,
                                 KUBE_TAINT_PREFER_NO_SCHEDULE};
  p.n_tolerations = 1;
  p.tolerations = &tol;
  assert_string_equal(place(s, &p), "a");
  kube_scheduler_free(s);
}

static void test_unschedulable_and_node_name(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_node_t a = mknode("a", 4000, 8 * GI),
                    b = mknode("b", 4000, 8 * GI);
  a.unschedulable = true;
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_pod_t p = mkpod("p", 100, MI);
  p.node_name = "a";
  assert_string_equal(place(s, &p),
                      "0/2 nodes are available: 1 node(s) didn't match the "
                      "requested node name, 1 node(s) were unschedulable. "
                      "preemption: 0/2 nodes are available: 2 Preemption is "
                      "not helpful for scheduling.");
  kube_sched_toleration_t tol = {"node.kubernetes.io/unschedulable",
                                 KUBE_TOLERATION_EXISTS, NULL,
                                 KUBE_TAINT_NO_SCHEDULE};
  p.n_tolerations = 1;
  p.tolerations = &tol;
  assert_string_equal(place(s, &p), "a");
  p.node_name = "b";
  assert_string_equal(place(s, &p), "b");
  kube_scheduler_free(s);
}

/* ---- NodeAffinity ---- */

static void test_node_selector_and_affinity(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  char names[200][16], zones[200][16];
  kube_sched_label_t labels[200][2];
  for (int i = 0; i < 200; i++) {
    snprintf(names[i], sizeof(names[i]), "n%03d", i);
    snprintf(zones[i], sizeof(zones[i]), "z%d", i % 50);
    labels[i][0] = (kube_sched_label_t){"zone", zones[i]};
    labels[i][1] = (kube_sched_label_t){"cores", i % 2 ? "16" : "4"};
    kube_sched_node_t n = mknode(names[i], 4000, 8 * GI);
    n.n_labels = 2;
    n.labels = labels[i];
    add_node(s, &n);
  }
  /* A selective nodeSelector goes through the label index. */
  kube_sched_label_t sel = {"zone", "z7"};
  kube_sched_pod_t p = mkpod("p", 100, MI);
  p.n_node_selector = 1;
  p.node_selector = &sel;
  const char *got = place(s, &p);
  assert_true(streq(got, "n007") || streq(got, "n057") || streq(got, "n107") ||
              streq(got, "n157"));
  sel.value = "nowhere";
  assert_string_equal(place(s, &p),
                      "0/200 nodes are available: 200 node(s) didn't match "
                      "Pod's node affinity/selector. preemption: 0/200 nodes "
                      "are available: 200 Preemption is not helpful for "
                      "scheduling.");
  /* Required affinity: zone in (z1, z2) AND cores > 8. */
  p.n_node_selector = 0;
  const char *zv[] = {"z1", "z2"};
  const char *eight[] = {"8"};
  kube_selector_requirement_t ex[2] = {
      {"zone", KUBE_SELECTOR_IN, 2, (char **)zv},
      {"cores", KUBE_SELECTOR_GT, 1, (char **)eight},
  };
  kube_sched_node_selector_term_t term = {2, ex, 0, NULL};
  p.n_required_terms = 1;
  p.required_terms = &term;
  for (int k = 0; k < 5; k++) {
    got = place(s, &p);
    int idx = atoi(got + 1);
    assert_true(idx % 50 == 1); /* zone z1 and odd (16 cores) */
  }
  /* matchFields on metadata.name. */
  const char *nm[] = {"n123"};
  kube_selector_requirement_t fld = {"metadata.name", KUBE_SELECTOR_IN, 1,
                                     (char **)nm};
  kube_sched_node_selector_term_t term2 = {0, NULL, 1, &fld};
  p.required_terms = &term2;
  assert_string_equal(place(s, &p), "n123");
  /* NotIn / DoesNotExist. */
  const char *four[] = {"4"};
  kube_selector_requirement_t notin = {"cores", KUBE_SELECTOR_NOT_IN, 1,
                                       (char **)four};
  kube_sched_node_selector_term_t term3 = {1, &notin, 0, NULL};
  p.required_terms = &term3;
  got = place(s, &p);
  assert_true(atoi(got + 1) % 2 == 1);
  /* Required affinity with In goes through the label index: only the
   * nodes of zone z3 are examined. */
  const char *z3[] = {"z3"};
  kube_selector_requirement_t in3 = {"zone", KUBE_SELECTOR_IN, 1, (char **)z3};
  kube_sched_node_selector_term_t term5 = {1, &in3, 0, NULL};
  p.required_terms = &term5;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_result_t r;
  assert_int_equal(kube_scheduler_schedule(s, &p, &r, &err), 0);
  assert_int_equal(r.evaluated, 4);
  assert_int_equal(atoi(r.node + 1) % 50, 3);
  kube_sched_result_clear(&r);
  /* Relabelling a node re-indexes it. */
  kube_sched_label_t moved[2] = {{"zone", "z3"}, {"cores", "4"}};
  kube_sched_node_t n0 = mknode("n000", 4000, 8 * GI);
  n0.n_labels = 2;
  n0.labels = moved;
  assert_int_equal(kube_scheduler_update_node(s, &n0, &err), 0);
  assert_int_equal(kube_scheduler_schedule(s, &p, &r, &err), 0);
  assert_int_equal(r.evaluated, 5);
  kube_sched_result_clear(&r);
  kube_selector_requirement_t dne = {"zone", KUBE_SELECTOR_DOES_NOT_EXIST, 0,
                                     NULL};
  kube_sched_node_selector_term_t term4 = {1, &dne, 0, NULL};
  p.required_terms = &term4;
  assert_non_null(strstr(place(s, &p), "200 node(s) didn't match Pod's node"));
  kube_scheduler_free(s);
}

static void test_preferred_node_affinity(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_label_t la = {"disk", "ssd"}, lb = {"disk", "hdd"};
  kube_sched_node_t a = mknode("a", 4000, 8 * GI),
                    b = mknode("b", 4000, 8 * GI);
  a.n_labels = b.n_labels = 1;
  a.labels = &la;
  b.labels = &lb;
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_pod_t p0 = mkpod("p0", 2000, 4 * GI);
  bind(s, &p0, "b"); /* b is fuller: MostAllocated prefers it */
  const char *ssd[] = {"ssd"};
  kube_selector_requirement_t ex = {"disk", KUBE_SELECTOR_IN, 1, (char **)ssd};
  kube_sched_preferred_term_t pref = {50, {1, &ex, 0, NULL}};
  kube_sched_pod_t p = mkpod("p", 100, MI);
  assert_string_equal(place(s, &p), "b");
  p.n_preferred_terms = 1;
  p.preferred_terms = &pref;
  assert_string_equal(place(s, &p), "a");
  kube_scheduler_free(s);
}

/* ---- NodePorts ---- */

static void test_host_ports(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_node_t a = mknode("a", 4000, 8 * GI),
                    b = mknode("b", 4000, 8 * GI);
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_port_t http = {8080, "TCP", NULL};
  kube_sched_pod_t w1 = mkpod("w1", 100, MI), w2 = mkpod("w2", 100, MI),
                   w3 = mkpod("w3", 100, MI);
  w1.n_ports = w2.n_ports = w3.n_ports = 1;
  w1.ports = w2.ports = w3.ports = &http;
  bind(s, &w1, "a");
  assert_string_equal(place(s, &w2), "b");
  bind(s, &w2, "b");
  assert_string_equal(place(s, &w3),
                      "0/2 nodes are available: 2 node(s) didn't have free "
                      "ports for the requested pod ports. preemption: 0/2 "
                      "nodes are available: 2 No preemption victims found for "
                      "incoming pod.");
  /* UDP on the same port does not conflict; neither do distinct IPs. */
  kube_sched_port_t udp = {8080, "UDP", NULL};
  w3.ports = &udp;
  assert_null(strstr(place(s, &w3), "nodes are available"));
  kube_sched_port_t ip1 = {9000, "TCP", "10.0.0.1"},
                    ip2 = {9000, "TCP", "10.0.0.2"},
                    any = {9000, "TCP", "0.0.0.0"};
  kube_scheduler_t *s2 = mksched(NULL);
  add_node(s2, &a);
  kube_sched_pod_t x = mkpod("x", 1, 1), y = mkpod("y", 1, 1);
  x.n_ports = y.n_ports = 1;
  x.ports = &ip1;
  bind(s2, &x, "a");
  y.ports = &ip2;
  assert_string_equal(place(s2, &y), "a");
  y.ports = &any;
  assert_non_null(strstr(place(s2, &y), "free ports"));
  /* Removing the pod frees its port. */
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_scheduler_remove_pod(s2, "default", "x", &err), 0);
  assert_string_equal(place(s2, &y), "a");
  kube_scheduler_free(s2);
  kube_scheduler_free(s);
}

/* ---- InterPodAffinity ---- */

static kube_scheduler_t *zoned(int nodes_per_zone) {
  kube_scheduler_t *s = mksched(NULL);
  static char names[64][16];
  static kube_sched_label_t labels[64][2];
  static const char *zones[] = {"za", "zb", "zc"};
  int k = 0;
  for (int z = 0; z < 3; z++)
    for (int i = 0; i < nodes_per_zone; i++, k++) {
      snprintf(names[k], sizeof(names[k]), "%s-%d", zones[z], i);
      labels[k][0] = (kube_sched_label_t){"zone", zones[z]};
      labels[k][1] = (kube_sched_label_t){"kubernetes.io/hostname", names[k]};
      kube_sched_node_t n = mknode(names[k], 4000, 8 * GI);
      n.n_labels = 2;
      n.labels = labels[k];
      add_node(s, &n);
    }
  return s;
}

static void test_pod_affinity(void **state) {
  kube_scheduler_t *s = zoned(2);
  const char *db[] = {"db"};
  kube_selector_requirement_t sel = {"app", KUBE_SELECTOR_IN, 1, (char **)db};
  kube_sched_pod_affinity_term_t term = {1, &sel, 0, NULL, false, "zone"};
  kube_sched_label_t web_l = {"app", "web"}, db_l = {"app", "db"};
  kube_sched_pod_t web = mkpod("web", 100, MI);
  web.n_labels = 1;
  web.labels = &web_l;
  web.n_pod_affinity = 1;
  web.pod_affinity = &term;
  assert_string_equal(place(s, &web),
                      "0/6 nodes are available: 6 node(s) didn't match pod "
                      "affinity rules. preemption: 0/6 nodes are available: "
                      "6 Preemption is not helpful for scheduling.");
  kube_sched_pod_t dbp = mkpod("db", 100, MI);
  dbp.n_labels = 1;
  dbp.labels = &db_l;
  bind(s, &dbp, "zb-1");
  assert_int_equal(strncmp(place(s, &web), "zb-", 3), 0);
  /* Another namespace's db does not count. */
  kube_scheduler_t *s2 = zoned(1);
  dbp.namespace_ = "other";
  bind(s2, &dbp, "zc-0");
  assert_non_null(strstr(place(s2, &web), "didn't match pod affinity rules"));
  term.all_namespaces = true;
  assert_string_equal(place(s2, &web), "zc-0");
  kube_scheduler_free(s2);
  /* The first pod of a self-affine group may go anywhere. */
  const char *web_v[] = {"web"};
  kube_selector_requirement_t self_sel = {"app", KUBE_SELECTOR_IN, 1,
                                          (char **)web_v};
  kube_sched_pod_affinity_term_t self = {1, &self_sel, 0, NULL, false, "zone"};
  kube_scheduler_t *s3 = zoned(2);
  kube_sched_pod_t w = mkpod("w0", 100, MI);
  w.n_labels = 1;
  w.labels = &web_l;
  w.n_pod_affinity = 1;
  w.pod_affinity = &self;
  char first[64];
  snprintf(first, sizeof(first), "%s", place(s3, &w));
  bind(s3, &w, first);
  char names[3][8] = {"w1", "w2", "w3"};
  for (int i = 0; i < 3; i++) {
    w.name = names[i];
    const char *got = place(s3, &w);
    assert_int_equal(strncmp(got, first, 2), 0); /* same zone */
    bind(s3, &w, got);
  }
  kube_scheduler_free(s3);
  kube_scheduler_free(s);
}

static void test_pod_anti_affinity(void **state) {
  kube_scheduler_t *s = zoned(1);
  const char *web_v[] = {"web"};
  kube_selector_requirement_t sel = {"app", KUBE_SELECTOR_IN, 1,
                                     (char **)web_v};
  kube_sched_pod_affinity_term_t term = {1,    &sel,  0,
                                         NULL, false, "kubernetes.io/hostname"};
  kube_sched_label_t web_l = {"app", "web"};
  kube_sched_pod_t w = mkpod("w0", 100, MI);
  w.n_labels = 1;
  w.labels = &web_l;
  w.n_pod_anti_affinity = 1;
  w.pod_anti_affinity = &term;
  char names[4][8] = {"w0", "w1", "w2", "w3"};
  char used[3][16] = {{0}};
  for (int i = 0; i < 3; i++) {
    w.name = names[i];
    const char *got = place(s, &w);
    for (int j = 0; j < i; j++)
      assert_string_not_equal(got, used[j]);
    snprintf(used[i], sizeof(used[i]), "%s", got);
    bind(s, &w, got);
  }
  w.name = names[3];
  assert_string_equal(place(s, &w),
                      "0/3 nodes are available: 3 node(s) didn't match pod "
                      "anti-affinity rules. preemption: 0/3 nodes are "
                      "available: 3 No preemption victims found for incoming "
                      "pod.");
  /* Symmetry: a plain web pod without rules of its own is kept away by the
   * existing pods' anti-affinity. */
  kube_sched_pod_t plain = mkpod("plain", 100, MI);
  plain.n_labels = 1;
  plain.labels = &web_l;
  assert_non_null(strstr(place(s, &plain),
                         "3 node(s) didn't satisfy existing pods "
                         "anti-affinity rules"));
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_scheduler_remove_pod(s, "default", "w1", &err), 0);
  assert_string_equal(place(s, &plain), used[1]);
  kube_scheduler_free(s);
}

static void test_preferred_pod_affinity(void **state) {
  kube_scheduler_t *s = zoned(1);
  kube_sched_label_t cache_l = {"app", "cache"};
  kube_sched_pod_t c = mkpod("cache", 100, MI);
  c.n_labels = 1;
  c.labels = &cache_l;
  bind(s, &c, "zc-0");
  kube_sched_pod_t big = mkpod("big", 3000, 6 * GI);
  bind(s, &big, "za-0"); /* za-0 is fullest: MostAllocated wants it */
  const char *cv[] = {"cache"};
  kube_selector_requirement_t sel = {"app", KUBE_SELECTOR_IN, 1, (char **)cv};
  kube_sched_weighted_pod_affinity_term_t pt = {
      100, {1, &sel, 0, NULL, false, "zone"}};
  kube_sched_pod_t p = mkpod("p", 100, MI);
  assert_string_equal(place(s, &p), "za-0");
  p.n_preferred_pod_affinity = 1;
  p.preferred_pod_affinity = &pt;
  assert_string_equal(place(s, &p), "zc-0");
  p.n_preferred_pod_affinity = 0;
  p.n_preferred_pod_anti_affinity = 1;
  p.preferred_pod_anti_affinity = &pt;
  assert_string_equal(place(s, &p), "za-0");
  kube_scheduler_free(s);
}

static void test_symmetric_pod_affinity_score(void **state) {
  /* An existing pod's preferred affinity towards app=web draws web pods to
   * its zone, though the web pod has no rules of its own. */
  kube_scheduler_t *s = zoned(1);
  const char *wv[] = {"web"};
  kube_selector_requirement_t sel = {"app", KUBE_SELECTOR_IN, 1, (char **)wv};
  kube_sched_weighted_pod_affinity_term_t pt = {
      80, {1, &sel, 0, NULL, false, "zone"}};
  kube_sched_pod_t fan = mkpod("fan", 100, MI);
  fan.n_preferred_pod_affinity = 1;
  fan.preferred_pod_affinity = &pt;
  bind(s, &fan, "zb-0");
  kube_sched_pod_t big = mkpod("big", 3000, 6 * GI);
  bind(s, &big, "za-0");
  kube_sched_label_t web_l = {"app", "web"};
  kube_sched_pod_t w = mkpod("w", 100, MI);
  assert_string_equal(place(s, &w), "za-0"); /* no label: packing wins */
  w.n_labels = 1;
  w.labels = &web_l;
  assert_string_equal(place(s, &w), "zb-0");
  /* Preferred anti-affinity of an existing pod pushes it away. */
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_scheduler_remove_pod(s, "default", "fan", &err), 0);
  kube_sched_pod_t hater = mkpod("hater", 100, MI);
  hater.n_preferred_pod_anti_affinity = 1;
  hater.preferred_pod_anti_affinity = &pt;
  bind(s, &hater, "za-0");
  const char *got = place(s, &w);
  assert_string_not_equal(got, "za-0");
  kube_scheduler_free(s);
}

/* ---- ImageLocality ---- */

static void test_image_locality(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_image_t img = {"registry.local/app:1.0", 800 * MI};
  kube_sched_node_t a = mknode("a", 4000, 8 * GI),
                    b = mknode("b", 4000, 8 * GI),
                    c = mknode("c", 4000, 8 * GI);
  b.n_images = 1;
  b.images = &img;
  add_node(s, &a);
  add_node(s, &b);
  add_node(s, &c);
  kube_sched_pod_t p0 = mkpod("p0", 200, 100 * MI);
  bind(s, &p0, "a"); /* a slightly fuller */
  kube_sched_pod_t p = mkpod("p", 100, MI);
  assert_string_equal(place(s, &p), "a");
  const char *imgs[] = {"registry.local/app:1.0"};
  p.n_images = 1;
  p.images = imgs;
  assert_string_equal(place(s, &p), "b");
  /* "nginx" and "nginx:latest" are the same image. */
  kube_sched_image_t ng = {"nginx:latest", 900 * MI};
  c.n_images = 1;
  c.images = &ng;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_scheduler_update_node(s, &c, &err), 0);
  const char *ngi[] = {"nginx"};
  p.images = ngi;
  assert_string_equal(place(s, &p), "c");
  kube_scheduler_free(s);
}

/* ---- preemption report ---- */

static void test_preemption_nomination(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_node_t a = mknode("a", 2000, 4 * GI),
                    b = mknode("b", 2000, 4 * GI);
  add_node(s, &a);
  add_node(s, &b);
  kube_sched_pod_t low1 = mkpod("low1", 1000, GI),
                   low2 = mkpod("low2", 1000, GI), mid = mkpod("mid", 1500, GI),
                   tiny = mkpod("tiny", 200, MI);
  low1.priority = low2.priority = 0;
  mid.priority = 500;
  tiny.priority = 0;
  bind(s, &low1, "a");
  bind(s, &low2, "a");
  bind(s, &mid, "b");
  bind(s, &tiny, "b");
  kube_sched_pod_t hi = mkpod("hi", 1000, GI);
  hi.priority = 1000;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_result_t r;
  assert_int_equal(kube_scheduler_schedule(s, &hi, &r, &err), 0);
  assert_null(r.node);
  assert_string_equal(r.message,
                      "0/2 nodes are available: 2 Insufficient cpu.");
  /* On a only one of the two low pods must go; on b mid (500) would. */
  assert_string_equal(r.nominated_node, "a");
  assert_int_equal(r.n_victims, 1);
  assert_non_null(strstr(r.victims[0], "default/low"));
  kube_sched_result_clear(&r);
  hi.preemption_never = true;
  assert_string_equal(
      place(s, &hi), "0/2 nodes are available: 2 Insufficient cpu. "
                     "preemption: not eligible due to preemptionPolicy=Never.");
  kube_scheduler_free(s);
}

static void test_reason_sorting(void **state) {
  /* sort.Strings order: "10 ..." sorts before "2 ...". */
  kube_scheduler_t *s = mksched(NULL);
  char names[12][8];
  kube_sched_taint_t t = {"k", "v", KUBE_TAINT_NO_EXECUTE};
  for (int i = 0; i < 12; i++) {
    snprintf(names[i], sizeof(names[i]), "n%d", i);
    kube_sched_node_t n = mknode(names[i], 100, GI);
    if (i >= 10) {
      n.n_taints = 1;
      n.taints = &t;
    }
    add_node(s, &n);
  }
  kube_sched_pod_t p = mkpod("p", 1000, MI);
  assert_string_equal(place(s, &p),
                      "0/12 nodes are available: 10 Insufficient cpu, 2 "
                      "node(s) had untolerated taint {k: v}. preemption: 0/12 "
                      "nodes are available: 10 No preemption victims found for "
                      "incoming pod, 2 Preemption is not helpful for "
                      "scheduling.");
  kube_scheduler_free(s);
  s = mksched(NULL);
  assert_string_equal(place(s, &p), "no nodes available to schedule pods");
  kube_scheduler_free(s);
}

/* ---- incremental state ---- */

static void test_incremental_state(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_node_t a = mknode("a", 4000, 8 * GI);
  add_node(s, &a);
  assert_int_equal(kube_scheduler_add_node(s, &a, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_ALREADY_EXISTS);
  kube_error_clear(&err);
  kube_sched_pod_t p = mkpod("p", 1500, 3 * GI), q = mkpod("q", 500, GI);
  bind(s, &p, "a");
  bind(s, &q, "a");
  assert_int_equal(kube_scheduler_add_pod(s, &q, "a", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_ALREADY_EXISTS);
  kube_error_clear(&err);
  assert_int_equal(kube_scheduler_add_pod(s, &q, "zz", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  kube_sched_resources_t used;
  assert_int_equal(kube_scheduler_node_requested(s, "a", &used, &err), 0);
  assert_int_equal(used.cpu_milli, 2000);
  assert_int_equal(used.memory, 4 * GI);
  assert_int_equal(used.pods, 2);
  assert_int_equal(kube_scheduler_remove_pod(s, "default", "p", &err), 0);
  assert_int_equal(kube_scheduler_node_requested(s, "a", &used, &err), 0);
  assert_int_equal(used.cpu_milli, 500);
  assert_int_equal(used.pods, 1);
  assert_int_equal(kube_scheduler_remove_pod(s, "default", "p", &err), -1);
  kube_error_clear(&err);
  /* An update (in-place resize) replaces the accounting. */
  kube_sched_pod_t q2 = mkpod("q", 700, GI);
  assert_int_equal(kube_scheduler_update_pod(s, &q2, "a", &err), 0);
  assert_int_equal(kube_scheduler_node_requested(s, "a", &used, &err), 0);
  assert_int_equal(used.cpu_milli, 700);
  assert_int_equal(used.pods, 1);
  q2.requests.cpu_milli = 500;
  assert_int_equal(kube_scheduler_update_pod(s, &q2, "a", &err), 0);
  assert_int_equal(kube_scheduler_update_pod(s, &q2, "zz", &err), -1);
  kube_error_clear(&err);
  /* Limits stand in for missing requests. */
  kube_sched_pod_t l = mkpod("l", 0, 0);
  l.limits.cpu_milli = 250;
  bind(s, &l, "a");
  assert_int_equal(kube_scheduler_node_requested(s, "a", &used, &err), 0);
  assert_int_equal(used.cpu_milli, 750);
  /* Update keeps pods; shrinking makes the next pod not fit. */
  a.allocatable.cpu_milli = 1000;
  assert_int_equal(kube_scheduler_update_node(s, &a, &err), 0);
  assert_int_equal(kube_scheduler_pod_count(s), 2);
  kube_sched_pod_t r = mkpod("r", 500, MI);
  assert_non_null(strstr(place(s, &r), "Insufficient cpu"));
  kube_sched_node_t b = mknode("b", 4000, 8 * GI);
  add_node(s, &b);
  assert_string_equal(place(s, &r), "b");
  assert_int_equal(kube_scheduler_remove_node(s, "a", &err), 0);
  assert_int_equal(kube_scheduler_node_count(s), 1);
  assert_int_equal(kube_scheduler_pod_count(s), 0);
  assert_int_equal(kube_scheduler_remove_node(s, "a", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  /* Slots are reused after removal; the smaller node packs better. */
  add_node(s, &a);
  assert_string_equal(place(s, &r), "a");
  kube_scheduler_free(s);
}

static void test_incremental_random(void **state) {
  /* Random adds, removals, updates and node churn against a model of the
   * per-node sums; the label index must keep answering selectors right. */
  enum { NN = 25, NP = 200, OPS = 3000, NC = 5 };
  kube_scheduler_t *s = mksched(NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  static char nn[NN][8], pn[NP][8];
  static const char *colors[NC] = {"red", "blue", "green", "cyan", "pink"};
  int color[NN], where[NP];
  int64_t cpu[NP];
  kube_sched_label_t pl[NP];
  uint64_t x = 99;
#define RND(m) ((int)((x = x * 6364136223846793005ULL + 1) >> 33) % (m))
  for (int i = 0; i < NN; i++) {
    snprintf(nn[i], sizeof(nn[i]), "n%d", i);
    color[i] = i % NC;
    kube_sched_label_t l = {"color", colors[color[i]]};
    kube_sched_node_t n = mknode(nn[i], 1000000, 1000 * GI);
    n.n_labels = 1;
    n.labels = &l;
    add_node(s, &n);
  }
  for (int i = 0; i < NP; i++) {
    snprintf(pn[i], sizeof(pn[i]), "p%d", i);
    where[i] = -1;
    pl[i] = (kube_sched_label_t){"app", i % 2 ? "a" : "b"};
  }
  for (int op = 0; op < OPS; op++) {
    int k = RND(10), p = RND(NP), n = RND(NN);
    if (k < 5 && where[p] < 0) {
      cpu[p] = 1 + RND(1000);
      kube_sched_pod_t pod = mkpod(pn[p], cpu[p], MI);
      pod.n_labels = 1;
      pod.labels = &pl[p];
      bind(s, &pod, nn[n]);
      where[p] = n;
    } else if (k < 8 && where[p] >= 0) {
      assert_int_equal(kube_scheduler_remove_pod(s, "default", pn[p], &err), 0);
      where[p] = -1;
    } else if (k == 8) {
      color[n] = RND(NC);
      kube_sched_label_t l = {"color", colors[color[n]]};
      kube_sched_node_t nd = mknode(nn[n], 1000000, 1000 * GI);
      nd.n_labels = 1;
      nd.labels = &l;
      assert_int_equal(kube_scheduler_update_node(s, &nd, &err), 0);
    } else if (k == 9 && RND(4) == 0) {
      assert_int_equal(kube_scheduler_remove_node(s, nn[n], &err), 0);
      for (int i = 0; i < NP; i++)
        if (where[i] == n)
          where[i] = -1;
      kube_sched_label_t l = {"color", colors[color[n]]};
      kube_sched_node_t nd = mknode(nn[n], 1000000, 1000 * GI);
      nd.n_labels = 1;
      nd.labels = &l;
      add_node(s, &nd);
    }
    if (op % 50 == 0) {
      size_t total = 0;
      for (int i = 0; i < NN; i++) {
        int64_t want_cpu = 0, want_pods = 0;
        for (int j = 0; j < NP; j++)
          if (where[j] == i) {
            want_cpu += cpu[j];
            want_pods++;
          }
        kube_sched_resources_t r;
        assert_int_equal(kube_scheduler_node_requested(s, nn[i], &r, &err), 0);
        assert_int_equal(r.cpu_milli, want_cpu);
        assert_int_equal(r.pods, want_pods);
        total += (size_t)want_pods;
      }
      assert_int_equal(kube_scheduler_pod_count(s), total);
      /* A selector answered through the index lands on a node of the
       * right colour. */
      kube_sched_label_t sel = {"color", colors[op % NC]};
      kube_sched_pod_t q = mkpod("probe", 1, 1);
      q.n_node_selector = 1;
      q.node_selector = &sel;
      const char *got = place(s, &q);
      bool any = false;
      for (int i = 0; i < NN; i++)
        any |= color[i] == op % NC;
      if (any) {
        int idx = atoi(got + 1);
        assert_int_equal(color[idx], op % NC);
      } else {
        assert_non_null(strstr(got, "didn't match Pod's node affinity"));
      }
    }
  }
#undef RND
  kube_scheduler_free(s);
}

/* ---- batches, dry runs, determinism ---- */

static void test_batch_priority_and_dry_run(void **state) {
  kube_scheduler_t *s = mksched(NULL);
  kube_sched_node_t a = mknode("a", 2000, 4 * GI);
  add_node(s, &a);
  kube_sched_pod_t pods[3] = {mkpod("small", 500, GI), mkpod("big", 1500, GI),
                              mkpod("vip", 1000, GI)};
  pods[2].priority = 100;
  kube_sched_result_t res[3];
  kube_error_t err = KUBE_ERROR_INIT;
  /* vip first (priority), then big (size): small does not fit. */
  assert_int_equal(kube_scheduler_schedule_batch(
                       s, pods, 3, KUBE_SCHED_BATCH_DRY_RUN, res, &err),
                   2);
  assert_string_equal(res[2].node, "a");
  assert_null(res[1].node);
  assert_string_equal(res[0].node, "a");
  for (int i = 0; i < 3; i++)
    kube_sched_result_clear(&res[i]);
  /* Dry run left nothing behind. */
  assert_int_equal(kube_scheduler_pod_count(s), 0);
  /* In arrival order, small then big both fit before vip. */
  assert_int_equal(kube_scheduler_schedule_batch(
                       s, pods, 3,
                       KUBE_SCHED_BATCH_COMMIT | KUBE_SCHED_BATCH_ARRIVAL_ORDER,
                       res, &err),
                   2);
  assert_null(res[2].node);
  /* vip could evict big (the smallest set of victims that makes room). */
  assert_string_equal(res[2].message,
                      "0/1 nodes are available: 1 Insufficient cpu.");
  assert_string_equal(res[2].nominated_node, "a");
  assert_int_equal(res[2].n_victims, 1);
  assert_string_equal(res[2].victims[0], "default/big");
  for (int i = 0; i < 3; i++)
    kube_sched_result_clear(&res[i]);
  assert_int_equal(kube_scheduler_pod_count(s), 2);
  /* A batch that names a bound pod fails as a whole and changes nothing. */
  kube_sched_pod_t again[2] = {mkpod("new", 1, 1), mkpod("small", 1, 1)};
  assert_int_equal(kube_scheduler_schedule_batch(s, again, 2, 0, res, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_ALREADY_EXISTS);
  kube_error_clear(&err);
  assert_int_equal(kube_scheduler_pod_count(s), 2);
  kube_scheduler_free(s);
}

static int nodes_in_use(kube_scheduler_t *s, char names[][8], int n) {
  int used = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  for (int i = 0; i < n; i++) {
    kube_sched_resources_t r;
    assert_int_equal(kube_scheduler_node_requested(s, names[i], &r, &err), 0);
    used += r.pods > 0;
  }
  return used;
}

static void test_batch_packing_quality(void **state) {
  /* CPU-heavy and memory-heavy pods: the batch order interleaves them so
   * nodes fill in both dimensions; arrival order strands capacity. */
  static const int64_t shapes[][2] = {
      {4000, 4 * GI}, {1000, 16 * GI}, {2000, 2 * GI}, {500, 8 * GI},
      {3000, 6 * GI}, {1500, 12 * GI}, {1000, 4 * GI}, {250, 2 * GI}};
  enum { NP = 400, NN = 80 };
  static kube_sched_pod_t pods[NP];
  static char pn[NP][8], names[NN][8];
  uint64_t x = 12345;
  double cpu = 0, mem = 0;
  for (int i = 0; i < NP; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int k = (int)((x >> 33) % 8);
    snprintf(pn[i], sizeof(pn[i]), "p%d", i);
    pods[i] = mkpod(pn[i], shapes[k][0], shapes[k][1]);
    cpu += shapes[k][0];
    mem += shapes[k][1];
  }
  int lb = (int)fmax(ceil(cpu / 16000), ceil(mem / (64.0 * GI)));
  int used[2];
  for (int v = 0; v < 2; v++) {
    kube_scheduler_t *s = mksched(NULL);
    for (int i = 0; i < NN; i++) {
      snprintf(names[i], sizeof(names[i]), "n%d", i);
      kube_sched_node_t n = mknode(names[i], 16000, 64 * GI);
      add_node(s, &n);
    }
    kube_sched_result_t res[NP];
    kube_error_t err = KUBE_ERROR_INIT;
    assert_int_equal(
        kube_scheduler_schedule_batch(
            s, pods, NP, v ? KUBE_SCHED_BATCH_ARRIVAL_ORDER : 0, res, &err),
        NP);
    for (int i = 0; i < NP; i++)
      kube_sched_result_clear(&res[i]);
    used[v] = nodes_in_use(s, names, NN);
    kube_scheduler_free(s);
  }
  assert_true(used[0] < used[1]);
  assert_true(used[0] * 100 <= lb * 103);
}

static void run_fixed(uint64_t seed, char out[40][16]) {
  kube_scheduler_config_t cfg;
  kube_scheduler_config_init(&cfg);
  cfg.seed = seed;
  kube_sched_node_t nodes[8];
  char names[8][8];
  for (int i = 0; i < 8; i++) {
    snprintf(names[i], sizeof(names[i]), "n%d", i);
    nodes[i] = mknode(names[i], 4000, 8 * GI);
  }
  kube_sched_pod_t pods[40];
  char pn[40][8];
  for (int i = 0; i < 40; i++) {
    snprintf(pn[i], sizeof(pn[i]), "p%d", i);
    pods[i] = mkpod(pn[i], 100 + (i * 37) % 700, (64 + (i * 91) % 900) * MI);
  }
  kube_sched_result_t res[40];
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(
      kube_schedule(&cfg, nodes, 8, NULL, NULL, 0, pods, 40, res, &err), 40);
  for (int i = 0; i < 40; i++) {
    snprintf(out[i], 16, "%s", res[i].node);
    kube_sched_result_clear(&res[i]);
  }
}

static void test_deterministic(void **state) {
  char a[40][16], b[40][16];
  run_fixed(7, a);
  run_fixed(7, b);
  for (int i = 0; i < 40; i++)
    assert_string_equal(a[i], b[i]);
  /* MostAllocated packs 40 small pods onto few nodes. */
  int used[8] = {0}, n_used = 0;
  for (int i = 0; i < 40; i++)
    used[a[i][1] - '0'] = 1;
  for (int i = 0; i < 8; i++)
    n_used += used[i];
  assert_true(n_used <= 5);
}

static void test_sampling_large_cluster(void **state) {
  /* With 1,000 nodes only a sample is scored, yet MostAllocated still puts
   * the pod on a partly used node since the search visits those first. */
  kube_scheduler_t *s = mksched(NULL);
  static char names[1000][8];
  for (int i = 0; i < 1000; i++) {
    snprintf(names[i], sizeof(names[i]), "n%d", i);
    kube_sched_node_t n = mknode(names[i], 4000, 8 * GI);
    add_node(s, &n);
  }
  kube_sched_pod_t p0 = mkpod("p0", 1000, 2 * GI);
  bind(s, &p0, "n777");
  kube_sched_pod_t p = mkpod("p", 500, GI);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_result_t r;
  assert_int_equal(kube_scheduler_schedule(s, &p, &r, &err), 0);
  assert_string_equal(r.node, "n777");
  assert_int_equal(r.feasible, 420); /* 50% - 1000/125 = 42% */
  kube_sched_result_clear(&r);
  kube_scheduler_config_t cfg;
  kube_scheduler_config_init(&cfg);
  cfg.percentage_of_nodes_to_score = 100;
  kube_scheduler_t *s2 = mksched(&cfg);
  kube_sched_node_t n = mknode("x", 1000, GI);
  for (int i = 0; i < 150; i++) {
    n.name = names[i];
    add_node(s2, &n);
  }
  assert_int_equal(kube_scheduler_schedule(s2, &p, &r, &err), 0);
  assert_int_equal(r.feasible, 150);
  kube_sched_result_clear(&r);
  kube_scheduler_free(s2);
  kube_scheduler_free(s);
}

/* ---- configuration ---- */

static void test_config(void **state) {
  kube_scheduler_config_t cfg;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_config_init(&cfg);
  assert_int_equal(cfg.score_weight[KUBE_SCHED_SCORE_TAINT_TOLERATION], 3);
  assert_int_equal(
      kube_scheduler_config_parse(&cfg,
                                  "# packing\n"
                                  "strategy = LeastAllocated\n"
                                  "\n"
                                  "percentageOfNodesToScore = 100\n"
                                  "seed = 42  # fixed\n"
                                  "score.ImageLocality = 0\n"
                                  "filter.NodePorts = off\n"
                                  "resource.memory = 3\n",
                                  &err),
      0);
  assert_int_equal(cfg.strategy, KUBE_SCHED_LEAST_ALLOCATED);
  assert_int_equal(cfg.percentage_of_nodes_to_score, 100);
  assert_int_equal(cfg.seed, 42);
  assert_int_equal(cfg.score_weight[KUBE_SCHED_SCORE_IMAGE_LOCALITY], 0);
  assert_false(cfg.filter_enabled[KUBE_SCHED_FILTER_NODE_PORTS]);
  assert_int_equal(cfg.memory_weight, 3);
  kube_scheduler_config_t before = cfg;
  assert_int_equal(
      kube_scheduler_config_parse(&cfg, "seed = 1\n\nbogus\n", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(err.message, "line 3"));
  kube_error_clear(&err);
  assert_memory_equal(&cfg, &before, sizeof(cfg)); /* untouched on error */
  assert_int_equal(kube_scheduler_config_parse(&cfg, "score.Nope = 1", &err),
                   -1);
  kube_error_clear(&err);
  assert_int_equal(
      kube_scheduler_config_parse(&cfg, "shape = 50:5, 10:1", &err), -1);
  kube_error_clear(&err);
  assert_int_equal(
      kube_scheduler_config_parse(&cfg, "percentageOfNodesToScore = 101", &err),
      -1);
  kube_error_clear(&err);

  /* A disabled filter really is off. */
  char path[] = "/tmp/test-scheduler-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "filter.NodeResourcesFit = off\n";
  assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
  close(fd);
  kube_scheduler_config_init(&cfg);
  assert_int_equal(kube_scheduler_config_load(&cfg, path, &err), 0);
  unlink(path);
  assert_int_equal(kube_scheduler_config_load(&cfg, path, &err), -1);
  kube_error_clear(&err);
  kube_scheduler_t *s = mksched(&cfg);
  kube_sched_node_t a = mknode("a", 100, MI);
  add_node(s, &a);
  kube_sched_pod_t p = mkpod("p", 1000, GI);
  assert_string_equal(place(s, &p), "a");
  kube_scheduler_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_most_allocated_packs),
      cmocka_unit_test(test_least_allocated_spreads),
      cmocka_unit_test(test_requested_to_capacity_ratio),
      cmocka_unit_test(test_vector_fit),
      cmocka_unit_test(test_balanced_allocation),
      cmocka_unit_test(test_insufficient_messages),
      cmocka_unit_test(test_extended_and_pod_count),
      cmocka_unit_test(test_taints),
      cmocka_unit_test(test_prefer_no_schedule),
      cmocka_unit_test(test_unschedulable_and_node_name),
      cmocka_unit_test(test_node_selector_and_affinity),
      cmocka_unit_test(test_preferred_node_affinity),
      cmocka_unit_test(test_host_ports),
      cmocka_unit_test(test_pod_affinity),
      cmocka_unit_test(test_pod_anti_affinity),
      cmocka_unit_test(test_preferred_pod_affinity),
      cmocka_unit_test(test_symmetric_pod_affinity_score),
      cmocka_unit_test(test_image_locality),
      cmocka_unit_test(test_preemption_nomination),
      cmocka_unit_test(test_reason_sorting),
      cmocka_unit_test(test_incremental_state),
      cmocka_unit_test(test_incremental_random),
      cmocka_unit_test(test_batch_priority_and_dry_run),
      cmocka_unit_test(test_batch_packing_quality),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_sampling_large_cluster),
      cmocka_unit_test(test_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
