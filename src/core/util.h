/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private helpers of the core module that every module of the library may
 * use: cleanup attributes, steal_pointer, small string helpers.  Not
 * installed.
 */
#ifndef KUBE_CORE_UTIL_H
#define KUBE_CORE_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <libkube/core.h>

static inline void cleanup_freep(void *p) {
  void **pp = (void **)p;
  free(*pp);
}
static inline void cleanup_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}
static inline void cleanup_fclosep(FILE **f) {
  if (*f)
    fclose(*f);
}
static inline void cleanup_errorp(kube_error_t *e) { kube_error_clear(e); }
static inline void cleanup_strbufp(kube_strbuf_t *sb) { kube_strbuf_clear(sb); }

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_error __attribute__((cleanup(cleanup_errorp)))
#define cleanup_strbuf __attribute__((cleanup(cleanup_strbufp)))

/* Hand ownership over: returns *pp and sets *pp to NULL. */
#define steal_pointer(pp)                                                      \
  ({                                                                           \
    __typeof__(*(pp)) _ptr = *(pp);                                            \
    *(pp) = NULL;                                                              \
    _ptr;                                                                      \
  })
/* Hand an fd over: returns *fdp and sets it to -1. */
#define steal_fd(fdp)                                                          \
  ({                                                                           \
    int _fd = *(fdp);                                                          \
    *(fdp) = -1;                                                               \
    _fd;                                                                       \
  })

/* Copy a caller's options (`src`, may be NULL: *dst is kept) over `*dst`,
 * which holds the defaults.  Options structs start with `size_t
 * struct_size`: only that many bytes are taken (0: all of it), so a caller
 * built against an older, shorter version leaves the newer fields at their
 * defaults.  dst and src are of the same type. */
#define core_opts_copy(dst, src)                                               \
  do {                                                                         \
    __typeof__(*(dst)) *_od = (dst);                                           \
    const __typeof__(*(dst)) *_os = (src);                                     \
    if (_os)                                                                   \
      memcpy(_od, _os,                                                         \
             _os->struct_size && _os->struct_size < sizeof *_od                \
                 ? _os->struct_size                                            \
                 : sizeof *_od);                                               \
  } while (0)

/* The User-Agent of a component inside the library, as the Kubernetes
 * binary it stands for sends it ("kube-scheduler/v1.32.0 (linux/amd64)
 * kubernetes/<commit>"): the API server names managedFields managers after
 * its first path segment. */
#if defined(__aarch64__)
#define CORE_GOARCH "arm64"
#else
#define CORE_GOARCH "amd64"
#endif
#define CORE_USER_AGENT(binary)                                                \
  binary "/v1.32.0 (linux/" CORE_GOARCH ") libkube"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline bool str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}
/* The value of hex digit c, -1 if it is none. */
static inline int core_hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static inline bool str_has_suffix(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* Shorthands for kube_error_set with the common reasons. */
#define kube_make_error(err, errnum, ...)                                      \
  kube_error_set((err), KUBE_REASON_INTERNAL, (errnum), __VA_ARGS__)
#define kube_make_oom(err)                                                     \
  kube_error_set((err), KUBE_REASON_INTERNAL, ENOMEM, "out of memory")

#define log_error(...) kube_log(KUBE_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) kube_log(KUBE_LOG_WARNING, __VA_ARGS__)
#define log_info(...) kube_log(KUBE_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
  do {                                                                         \
    if (kube_log_get_level() >= KUBE_LOG_DEBUG)                                \
      kube_log(KUBE_LOG_DEBUG, __VA_ARGS__);                                   \
  } while (0)


/* A rate limit for repeated log lines: at most `burst` per `interval_ns`.
 * Zero-initialise the counters: CORE_RATELIMIT_INIT(5000, 10). */
struct core_ratelimit {
  int64_t interval_ns;
  unsigned burst;
  int64_t begin_ns;
  unsigned num;
  unsigned suppressed;
};
#define CORE_RATELIMIT_INIT(interval_ms, nburst)                               \
  {.interval_ns = (int64_t)(interval_ms) * 1000000, .burst = (nburst)}
/* True when one more line may go out now; *suppressed gets the count of
 * lines dropped in the interval that just ended (0 otherwise). */
bool core_ratelimit_test(struct core_ratelimit *rl, unsigned *suppressed);
/* kube_log() through a rate limit; the first line after a suppressed run
 * says how many were dropped. */
KUBE_PRINTF(3, 4)
void core_log_ratelimited(struct core_ratelimit *rl, kube_log_level_t level,
                          const char *fmt, ...);

/* Files (file.c).  A directory and its missing parents, with `mode`.
 * 0 or -1 with err. */
int core_mkdir_p(const char *path, mode_t mode, kube_error_t *err);
/* Write a whole file atomically (a temporary file beside it, renamed
 * over it), with `mode` exactly.  0 or -1 with err. */
int core_write_file(const char *path, const char *data, size_t len, mode_t mode,
                    kube_error_t *err);
/* A whole file, NUL-terminated (owned: free), its length in *len_out
 * (may be NULL); NULL with errno. */
char *core_read_file(const char *path, size_t *len_out);

/* strbuf.c: room for `extra` more bytes and the NUL after them in
 * sb->data (written by the caller, who then advances sb->len and keeps
 * the NUL); false after an allocation failure (sb->oom). */
bool core_strbuf_reserve(kube_strbuf_t *sb, size_t extra);

/* cidr.c: "10.96.0.0/12" into the network (host order) and prefix length
 * (1-30; host bits must be zero); "30000-32767" (or "N") into a port
 * range.  0, or -1 when malformed. */
int core_cidr4_parse(const char *s, uint32_t *net, int *bits);
int core_port_range_parse(const char *s, int *lo, int *hi);
/* A Go duration ("30s", "1m30s", "500ms", "8760h") in nanoseconds; -1
 * when malformed (time.c). */
int64_t core_go_duration_ns(const char *s);
/* An address in host order as dotted quad. */
void core_ipv4_format(uint32_t ip, char out[16]);

/* loop.c: warn when kube_loop_run's loop goes warn_ms (> 0) without a
 * turn (a daemon's loop: leases and replies wait meanwhile). */
void core_loop_watch_stalls(kube_loop_t *loop, int64_t warn_ms);

#endif /* KUBE_CORE_UTIL_H */
