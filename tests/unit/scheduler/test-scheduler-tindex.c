/* SPDX-License-Identifier: Apache-2.0 */
/* The inter-pod affinity index (tindex.c) against the scan it replaces:
 * two schedulers get the same random nodes, pods with required and
 * preferred (anti-)affinity from a few templates, bindings, unbindings and
 * node label changes; one keeps its index, the other is forced to scan
 * the bound pods.  Every probe placement (node, score, message) must be
 * the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/internal.h"

#define GI (1024LL * 1024 * 1024)
#define HOST "kubernetes.io/hostname"
#define ZONE "zone"

static const char *colors[] = {"red", "green", "blue"};
static const char *zones[] = {"z0", "z1", "z2", "z3"};
static kube_selector_requirement_t sel[3];
static kube_sched_pod_affinity_term_t terms[3][2]; /* color x (host, zone) */
static kube_sched_weighted_pod_affinity_term_t wterms[3][2];
static uint64_t rng = 42;

static uint32_t rnd(uint32_t n) {
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng >> 33) % n;
}

static void setup_terms(void) {
  for (int c = 0; c < 3; c++) {
    sel[c] = (kube_selector_requirement_t){"color", KUBE_SELECTOR_EQUALS, 1,
                                           (char **)&colors[c]};
    for (int k = 0; k < 2; k++) {
      terms[c][k] =
          (kube_sched_pod_affinity_term_t){.n_selector = 1,
                                           .selector = &sel[c],
                                           .all_namespaces = k == 1,
                                           .topology_key = k ? ZONE : HOST};
      wterms[c][k] = (kube_sched_weighted_pod_affinity_term_t){
          .weight = 1 + c * 3 + k, .term = terms[c][k]};
    }
  }
}

/* Pod i of a random template: labels color, some terms. */
static void mkpod(kube_sched_pod_t *p, kube_sched_label_t *lab, char *name,
                  uint32_t kind) {
  memset(p, 0, sizeof *p);
  p->namespace_ = kind % 2 ? "a" : "b";
  p->name = name;
  p->requests.cpu_milli = 100 + 50 * (kind % 3);
  p->requests.memory = GI / 4;
  uint32_t c = kind % 3;
  *lab = (kube_sched_label_t){"color", colors[c]};
  p->labels = lab;
  p->n_labels = 1;
  switch (kind % 5) {
  case 0:
    p->pod_anti_affinity = &terms[c][0];
    p->n_pod_anti_affinity = 1;
    break;
  case 1:
    p->preferred_pod_affinity = &wterms[(c + 1) % 3][1];
    p->n_preferred_pod_affinity = 1;
    break;
  case 2:
    p->preferred_pod_anti_affinity = &wterms[c][0];
    p->n_preferred_pod_anti_affinity = 1;
    break;
  case 3:
    p->pod_affinity = &terms[c][1];
    p->n_pod_affinity = 1;
    break;
  default:
    break;
  }
}

static void node_of(kube_sched_node_t *n, kube_sched_label_t *lab, char *name,
                    uint32_t zone) {
  memset(n, 0, sizeof *n);
  n->name = name;
  n->allocatable.cpu_milli = 4000;
  n->allocatable.memory = 32 * GI;
  n->allocatable.pods = 110;
  lab[0] = (kube_sched_label_t){HOST, name};
  lab[1] = (kube_sched_label_t){ZONE, zones[zone]};
  n->labels = lab;
  n->n_labels = 2;
}

static void same_result(kube_scheduler_t *a, kube_scheduler_t *b,
                        const kube_sched_pod_t *p) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_result_t ra, rb;
  assert_int_equal(kube_scheduler_schedule(a, p, &ra, &err), 0);
  assert_int_equal(kube_scheduler_schedule(b, p, &rb, &err), 0);
  if (ra.node || rb.node) {
    assert_non_null(ra.node);
    assert_non_null(rb.node);
    assert_string_equal(ra.node, rb.node);
    assert_int_equal(ra.score, rb.score);
  } else {
    assert_string_equal(ra.message, rb.message);
  }
  kube_sched_result_clear(&ra);
  kube_sched_result_clear(&rb);
}

static void test_index_matches_scan(void **state) {
  setup_terms();
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_config_t cfg;
  kube_scheduler_config_init(&cfg);
  cfg.percentage_of_nodes_to_score = 100;
  kube_scheduler_t *s[2] = {kube_scheduler_new(&cfg, &err),
                            kube_scheduler_new(&cfg, &err)};
  assert_non_null(s[0]);
  assert_non_null(s[1]);
  s[1]->tindex.broken = true; /* the scan */
  enum { NODES = 24, PODS = 400 };
  char nname[NODES][16];
  kube_sched_label_t nlab[NODES][2];
  uint32_t nzone[NODES];
  for (int i = 0; i < NODES; i++) {
    snprintf(nname[i], sizeof nname[i], "n%d", i);
    nzone[i] = rnd(4);
    kube_sched_node_t n;
    node_of(&n, nlab[i], nname[i], nzone[i]);
    for (int k = 0; k < 2; k++)
      assert_int_equal(kube_scheduler_add_node(s[k], &n, &err), 0);
  }
  char pname[PODS][16];
  kube_sched_label_t plab[PODS];
  uint32_t pkind[PODS];
  int pnode[PODS];
  for (int i = 0; i < PODS; i++) {
    snprintf(pname[i], sizeof pname[i], "p%d", i);
    pkind[i] = rnd(1000);
    pnode[i] = -1;
  }
  for (int step = 0; step < 3000; step++) {
    uint32_t op = rnd(10);
    int i = (int)rnd(PODS);
    kube_sched_pod_t p;
    mkpod(&p, &plab[i], pname[i], pkind[i]);
    if (op < 5 && pnode[i] < 0) {
      /* Place it where the indexed scheduler says, on both (the scan
       * decides too: the tie-breaking generators stay in step). */
      kube_sched_result_t r, r1;
      assert_int_equal(kube_scheduler_schedule(s[0], &p, &r, &err), 0);
      assert_int_equal(kube_scheduler_schedule(s[1], &p, &r1, &err), 0);
      assert_true((r.node == NULL) == (r1.node == NULL));
      if (r.node)
        assert_string_equal(r.node, r1.node);
      kube_sched_result_clear(&r1);
      if (r.node) {
        for (int k = 0; k < 2; k++)
          assert_int_equal(kube_scheduler_add_pod(s[k], &p, r.node, &err), 0);
        pnode[i] = atoi(r.node + 1);
      }
      kube_sched_result_clear(&r);
    } else if (op < 7 && pnode[i] >= 0) {
      for (int k = 0; k < 2; k++)
        assert_int_equal(
            kube_scheduler_remove_pod(s[k], p.namespace_, p.name, &err), 0);
      pnode[i] = -1;
    } else if (op == 7) {
      /* A node changes zone: the domains of its pods move. */
      int n = (int)rnd(NODES);
      nzone[n] = rnd(4);
      kube_sched_node_t nn;
      node_of(&nn, nlab[n], nname[n], nzone[n]);
      for (int k = 0; k < 2; k++)
        assert_int_equal(kube_scheduler_update_node(s[k], &nn, &err), 0);
    } else {
      same_result(s[0], s[1], &p);
    }
  }
  assert_false(s[0]->tindex.broken);
  assert_true(s[0]->tindex.n > 0);
  kube_scheduler_free(s[0]);
  kube_scheduler_free(s[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_matches_scan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
