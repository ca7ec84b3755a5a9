/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubed and glibc malloc.
 *
 * A server's heap swells during bursts (100 pods created at once: status
 * writes, watch events, LIST replies parsed into trees) and keeps its free
 * chunks afterwards: glibc returns only the top of the heap, so a heap
 * whose top chunk is in use keeps every page it ever had (7-8 MB of 20 MB
 * with 100 pods).  Three settings keep the resident set close to what is
 * in use:
 *  - at most 2 arenas: every thread that meets a locked arena would
 *    otherwise get one of its own (up to 8 per core), each holding its
 *    free chunks; kubed's worker threads spend their time in system calls
 *    and child processes, not in malloc;
 *  - blocks of 64 kB and more (HTTP bodies, LIST replies, JSON text) are
 *    mmapped, so freeing them returns the memory at once; glibc's default
 *    raises this threshold to 32 MB as soon as such a block is freed,
 *    after which every big buffer stays in the heap for good;
 *  - once a second, when the arenas hold more than 1 MB free,
 *    malloc_trim(0) gives the free pages in the middle of the heap back
 *    (madvise), not only the top.
 */
#include <malloc.h>

#include "memory.h"

#define MMAP_THRESHOLD (64 * 1024)
#define TRIM_EVERY_MS 1000
#define TRIM_ABOVE (1024 * 1024)

void kubed_memory_init(void) {
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
  mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD);
}

static void trim(void *arg) {
  (void)arg;
  struct mallinfo2 mi = mallinfo2();
  /* fordblks: free bytes in the arenas; keepcost: the releasable top */
  if (mi.fordblks > TRIM_ABOVE)
    malloc_trim(0);
}

kube_timer_t *kubed_memory_trim_start(kube_loop_t *loop) {
  kube_timer_t *t = kube_timer_new(loop, trim, NULL, NULL);
  if (t)
    kube_timer_arm_periodic(t, TRIM_EVERY_MS);
  return t;
}
