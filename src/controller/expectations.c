/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client-go's ControllerExpectations with UID tracking for deletions: a
 * controller that just asked for N pods (or for the deletion of some) does
 * not act on the same key again before its informer saw them, or before
 * the record expired (5 minutes), so a slow cache never makes it create or
 * delete twice.
 */
#include "controller/internal.h"

struct ctl_expect {
  int64_t add, del;
  int64_t timestamp_ns;   /* monotonic */
  struct strmap deleting; /* pod keys whose deletion is awaited */
};

static void expect_free(void *v) {
  struct ctl_expect *x = v;
  if (!x)
    return;
  strmap_clear(&x->deleting, NULL);
  free(x);
}

void ctl_expectations_clear(struct ctl_expectations *e) {
  strmap_clear(&e->m, expect_free);
}

bool ctl_expectations_satisfied(struct ctl_expectations *e, const char *key) {
  struct ctl_expect *x = strmap_get(&e->m, key);
  if (!x)
    return true; /* a new controller, or one the expectations forgot */
  if (x->add <= 0 && x->del <= 0)
    return true;
  if (kube_time_mono_ns() - x->timestamp_ns > CTL_EXPECTATIONS_TTL_NS) {
    log_debug("controller: expectations of %s expired (add %lld, del %lld)",
              key, (long long)x->add, (long long)x->del);
    return true;
  }
  return false;
}

static struct ctl_expect *set_expect(struct ctl_expectations *e,
                                     const char *key, int64_t add,
                                     int64_t del) {
  struct ctl_expect *x = calloc(1, sizeof *x);
  if (!x)
    return NULL;
  x->add = add;
  x->del = del;
  x->timestamp_ns = kube_time_mono_ns();
  void *old = NULL;
  if (!strmap_put(&e->m, key, x, &old)) {
    free(x);
    return NULL;
  }
  expect_free(old);
  return x;
}

int ctl_expect_creations(struct ctl_expectations *e, const char *key,
                         int64_t n) {
  return set_expect(e, key, n, 0) ? 0 : -1;
}

int ctl_expect_deletions(struct ctl_expectations *e, const char *key,
                         const char *const *pod_keys, size_t n) {
  struct ctl_expect *x = set_expect(e, key, 0, (int64_t)n);
  if (!x)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (!strmap_put(&x->deleting, pod_keys[i], NULL, NULL))
      return -1;
  return 0;
}

int ctl_expect(struct ctl_expectations *e, const char *key, int64_t add,
               const char *const *del_keys, size_t n_del) {
  struct ctl_expect *x = set_expect(e, key, add, (int64_t)n_del);
  if (!x)
    return -1;
  for (size_t i = 0; i < n_del; i++)
    if (!strmap_put(&x->deleting, del_keys[i], NULL, NULL))
      return -1;
  return 0;
}

void ctl_creation_observed(struct ctl_expectations *e, const char *key) {
  struct ctl_expect *x = strmap_get(&e->m, key);
  if (x)
    x->add--;
}

void ctl_deletion_observed(struct ctl_expectations *e, const char *key,
                           const char *pod_key) {
  struct ctl_expect *x = strmap_get(&e->m, key);
  if (!x || !strmap_find(&x->deleting, pod_key))
    return;
  strmap_remove(&x->deleting, pod_key);
  x->del--;
}

void ctl_expectations_delete(struct ctl_expectations *e, const char *key) {
  expect_free(strmap_remove(&e->m, key));
}

void ctl_expectations_get(struct ctl_expectations *e, const char *key,
                          int64_t *add, int64_t *del) {
  struct ctl_expect *x = strmap_get(&e->m, key);
  *add = x ? x->add : 0;
  *del = x ? x->del : 0;
}
