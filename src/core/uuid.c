/* SPDX-License-Identifier: Apache-2.0 */
/* Random (version 4) UUIDs for metadata.uid. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

static bool fill_getrandom(uint8_t *b, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t r = getrandom(b + off, n - off, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    off += (size_t)r;
  }
  return true;
}

static bool fill_urandom(uint8_t *b, size_t n) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  size_t off = 0;
  while (off < n) {
    ssize_t r = read(fd, b + off, n - off);
    if (r <= 0) {
      if (r < 0 && errno == EINTR)
        continue;
      close(fd);
      return false;
    }
    off += (size_t)r;
  }
  close(fd);
  return true;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Last resort when the kernel offers no randomness (seccomp-filtered
 * getrandom and no /dev): unique rather than unpredictable, which is what
 * a uid needs.  Mixes the clocks, the pid and a process-wide counter. */
static void fill_fallback(uint8_t *b, size_t n) {
  static _Atomic uint64_t counter;
  struct timespec rt, mono;
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  uint64_t state = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
  state ^= ((uint64_t)getpid() << 32) ^ (uint64_t)mono.tv_nsec;
  state ^= atomic_fetch_add(&counter, 1) * 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = splitmix64(&state);
    for (size_t j = 0; j < 8 && i + j < n; j++)
      b[i + j] = (uint8_t)(v >> (8 * j));
  }
}

/* Random bytes for uids come from a per-thread pool refilled 256 bytes at a
 * time (16 uids a getrandom call, not one).  A forked child empties the
 * pool it inherited so that parent and child never hand out the same
 * bytes. */
#define POOL_SIZE 256

static __thread struct {
  uint8_t b[POOL_SIZE];
  size_t avail; /* unused bytes at the end of b */
} pool;

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_forget(void) { pool.avail = 0; }

static void pool_init(void) { pthread_atfork(NULL, NULL, pool_forget); }

static bool pool_take(uint8_t *out, size_t n) {
  if (pool.avail < n) {
    pthread_once(&pool_once, pool_init);
    if (!fill_getrandom(pool.b, sizeof pool.b))
      return false;
    pool.avail = sizeof pool.b;
  }
  uint8_t *src = pool.b + sizeof pool.b - pool.avail;
  memcpy(out, src, n);
  memset(src, 0, n); /* handed out: not kept where a later read may find it */
  pool.avail -= n;
  return true;
}

KUBE_EXPORT char *kube_uuid_generate(char *buf, size_t len) {
  static const char hex[] = "0123456789abcdef";
  uint8_t u[16];
  if (!buf || len < 37)
    return NULL;
  if (!pool_take(u, sizeof u) && !fill_urandom(u, sizeof u))
    fill_fallback(u, sizeof u);
  u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
  u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  /* 8-4-4-4-12 lower-case hex digits, by hand (snprintf with 16 conversions
   * cost ~6k instructions a uid). */
  char *p = buf;
  for (size_t i = 0; i < sizeof u; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *p++ = '-';
    *p++ = hex[u[i] >> 4];
    *p++ = hex[u[i] & 15];
  }
  *p = '\0';
  return buf;
}
