/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the controller module's unit tests: a loop, the fake
 * transport of tests/lib, a controller manager over it, and helpers to
 * add objects and wait for the controllers to settle. */
#ifndef TEST_CONTROLLER_H
#define TEST_CONTROLLER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libkube/controller.h>
#include <libkube/kit.h>
#include <libkube/kubectl.h>

#include "api/api-private.h"
#include "kube-test.h"

#ifndef streq
#define streq(a, b) (strcmp((a), (b)) == 0)
#endif

struct h {
  kube_loop_t *loop;
  kt_fake_t *f;
  kube_transport_t tp;
  kube_controller_manager_t *m;
};

/* A loop and a fake; the manager comes with h_start. */
void h_init(struct h *h);
/* Start a manager running `controllers` (no leader election) and wait
 * until they are ready (caches synced). */
void h_start(struct h *h, const char *controllers);
/* The same with every manager option. */
void h_start_opts(struct h *h, const kube_controller_manager_options_t *o);
void h_free(struct h *h);
/* RFC 3339 time `seconds` ago (UTC, whole seconds) into buf. */
const char *h_ago(char *buf, size_t len, int seconds);
/* Run until every controller of the manager is idle (nothing queued,
 * nothing pending) for a while; fails the test after 10 s. */
void h_settle(struct h *h);
/* Run until cond holds (fails after 10 s). */
void h_until(struct h *h, bool (*cond)(void *), void *arg);

/* kt_fake_add with printf formatting; fails the test on bad input. */
long h_add(struct h *h, const char *fmt, ...) KUBE_PRINTF(2, 3);
/* The stored object (owned tree), NULL when absent. */
json_object *h_get(struct h *h, const char *av, const char *kind,
                   const char *ns, const char *name);
/* Writes recorded since the last clear whose method and path prefix match,
 * excluding Events and Leases. */
size_t h_count(struct h *h, const char *method, const char *path_prefix);
/* Objects of a kind in the fake. */
size_t h_objects(struct h *h, const char *av, const char *kind, const char *ns);
/* Events recorded with `reason` (by the fake's stored Event objects). */
size_t h_events(struct h *h, const char *reason);
/* Mark every pod of ns Running and Ready (status write as a kubelet). */
void h_pods_ready(struct h *h, const char *ns);
/* Up to max live pods of ns end in phase (Succeeded / Failed) with their
 * container's exit_code; returns how many. */
size_t h_pods_finish(struct h *h, const char *ns, const char *phase,
                     int exit_code, size_t max);

/* test-*.c */
int run_leader_tests(void);
int run_rs_tests(void);
int run_job_tests(void);
int run_cron_tests(void);
int run_ds_tests(void);
int run_sts_tests(void);
int run_deploy_tests(void);
int run_gc_tests(void);
int run_ep_tests(void);
int run_hash_tests(void);
int run_node_tests(void);
int run_pv_tests(void);
int run_pdb_tests(void);

#endif
