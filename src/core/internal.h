/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared between the files of the core module only. */
#ifndef KUBE_CORE_INTERNAL_H
#define KUBE_CORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libkube/core.h>

/* selector.c */
void core_selector_req_clear(kube_selector_requirement_t *r);
/* Copy key[0..key_len) and the values into *r. */
int core_selector_req_init(kube_selector_requirement_t *r, const char *key,
                           size_t key_len, kube_selector_op_t op,
                           const char *const *values, size_t n,
                           kube_error_t *err);
/* Move *r into sel (r is zeroed).  sorted: keep requirements ordered by key
 * (stable); otherwise append. */
int core_selector_insert(kube_selector_t *sel, kube_selector_requirement_t *r,
                         bool sorted, kube_error_t *err);
/* labels.NewRequirement validation; key_path names the key in messages. */
int core_selector_check_requirement(const char *key, kube_selector_op_t op,
                                    const char *const *values, size_t n,
                                    const char *key_path, kube_error_t *err);
/* strconv.ParseInt(s, 10, 64) (selectors, quantity exponents). */
bool core_parse_int64(const char *s, int64_t *out);

/* loop.c: turn on libevent's pthreads locking (once per process). */
void core_loop_threads_init(void);
/* loop.c: remove invokes of fn(arg) not yet run (kube_workers_free). */
void core_loop_drop_invokes(kube_loop_t *loop, void (*fn)(void *), void *arg);

#endif /* KUBE_CORE_INTERNAL_H */
