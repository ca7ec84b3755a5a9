/* SPDX-License-Identifier: Apache-2.0 */
/* kubed's malloc (mimalloc, jemalloc or glibc's, -Dallocator): tuned for a
 * small resident set, and free heap pages handed back to the kernel once a
 * burst of work is over. */
#ifndef KUBED_MEMORY_H
#define KUBED_MEMORY_H

#include <libkube/core.h>

/* Before any thread starts. */
void kubed_memory_init(void);
/* A timer on `loop` that returns free heap pages to the kernel once a
 * second (an arena decay pass, mi_collect or malloc_trim); NULL when it
 * cannot be made (nothing then changes). Free with kube_timer_free. */
kube_timer_t *kubed_memory_trim_start(kube_loop_t *loop);

#endif
