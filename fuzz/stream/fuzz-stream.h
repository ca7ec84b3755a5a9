/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the stream fuzz harnesses: a trap on broken invariants
 * and callbacks that accept whatever a session reports. */
#ifndef FUZZ_STREAM_H
#define FUZZ_STREAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libkube/stream.h>

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

/* The connection: bytes are checked for sanity and dropped. */
static inline void sink(void *d, const void *buf, size_t len) {
  (void)d;
  CHECK(len == 0 || buf != NULL);
}
static inline void ready(void *d) {
  (void)d;
}
static inline void data_cb(void *d, const void *b, size_t n) {
  (void)d, (void)b, (void)n;
}
static inline void eof_cb(void *d) {
  (void)d;
}
static inline void resize_cb(void *d, uint16_t w, uint16_t h) {
  (void)d, (void)w, (void)h;
}
static inline void done_cb(void *d, const kube_error_t *e) {
  (void)d, (void)e;
}

/* An upgrade as negotiation would have produced it. */
static inline kube_stream_upgrade_t fuzz_upgrade(kube_stream_kind_t kind,
                                                 kube_stream_transport_t tr,
                                                 int version, bool base64) {
  kube_stream_upgrade_t up;
  memset(&up, 0, sizeof up);
  up.kind = kind;
  up.transport = tr;
  up.version = version;
  up.base64 = base64;
  return up;
}

#endif /* FUZZ_STREAM_H */
