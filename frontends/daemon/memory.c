/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubed and its malloc.
 *
 * kubed is linked with jemalloc by default (meson -Dallocator=jemalloc|
 * mimalloc|system): under the controllers bench glibc malloc was ~22% of
 * kubed's CPU (json-c trees are many small blocks); jemalloc and mimalloc
 * cut kubed's CPU per pod by 20-40%, and jemalloc tuned as below keeps
 * kubed's RSS with 100 pods within ~2.5 MB of glibc's, around the
 * README's 30 MB goal (29.5-30.8 MB against glibc's 27.6-28.3; bench-node).  libkube.so is not
 * linked with it: an embedder keeps its process's allocator.
 *
 * A server's heap swells during bursts (100 pods created at once: status
 * writes, watch events, LIST replies parsed into trees) and must give the
 * pages back afterwards, whichever allocator holds them.
 *
 * jemalloc (malloc_conf below; MALLOC_CONF in the environment wins):
 *  - one arena: kubed's worker threads spend their time in system calls
 *    and child processes, not in malloc;
 *  - dirty pages purged after one second instead of ten, none kept as
 *    "muzzy", and once a second a decay pass, since jemalloc purges only
 *    inside its own calls and an idle daemon makes none.  Purging at once
 *    (dirty_decay_ms:0, with 1 kB thread caches) saved ~0.6 MB but cost
 *    ~40% more kubed CPU per pod in bench-scheduler-e2e (an madvise per
 *    freed run).
 *
 * mimalloc: freed pages go back to their segments, and a segment's free
 * memory is decommitted a short delay after it is freed, but mimalloc does
 * that work only inside its own calls; an idle daemon makes none.  Once a
 * second mi_collect(false) retires the main thread's empty pages and runs
 * the delayed decommits.  Its per-thread heaps still cost ~5 MB with 100
 * pods, hence not the default.
 *
 * glibc (-Dallocator=system, and sanitizer builds):
 *  - at most 2 arenas: every thread that meets a locked arena would
 *    otherwise get one of its own (up to 8 per core), each holding its
 *    free chunks;
 *  - blocks of 64 kB and more (HTTP bodies, LIST replies, JSON text) are
 *    mmapped, so freeing them returns the memory at once; glibc's default
 *    raises this threshold to 32 MB as soon as such a block is freed,
 *    after which every big buffer stays in the heap for good;
 *  - glibc returns only the top of the heap, so a heap whose top chunk is
 *    in use keeps every page it ever had (7-8 MB of 20 MB with 100 pods):
 *    once a second, when the arenas hold more than 1 MB free,
 *    malloc_trim(0) gives the free pages in the middle of the heap back
 *    (madvise), not only the top.
 */
#if defined(KUBE_ALLOCATOR_MIMALLOC)
#include <mimalloc.h>
#elif defined(KUBE_ALLOCATOR_JEMALLOC)
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

#include "memory.h"

#define TRIM_EVERY_MS 1000

#if defined(KUBE_ALLOCATOR_MIMALLOC)

void kubed_memory_init(void) {}

static void trim(void *arg) {
  (void)arg;
  mi_collect(false);
}

#elif defined(KUBE_ALLOCATOR_JEMALLOC)

/* Read by jemalloc when it starts. */
const char *malloc_conf = "narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0";

#define STR_(x) #x
#define STR(x) STR_(x)

void kubed_memory_init(void) {}

static void trim(void *arg) {
  (void)arg;
  mallctl("arena." STR(MALLCTL_ARENAS_ALL) ".decay", NULL, NULL, NULL, 0);
}

#else

#define MMAP_THRESHOLD (64 * 1024)
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

#endif

kube_timer_t *kubed_memory_trim_start(kube_loop_t *loop) {
  kube_timer_t *t = kube_timer_new(loop, trim, NULL, NULL);
  if (t)
    kube_timer_arm_periodic(t, TRIM_EVERY_MS);
  return t;
}
