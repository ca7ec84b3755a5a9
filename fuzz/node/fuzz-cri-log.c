/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the CRI log reader: the bytes of a log file as the
 * runtime (or anything else that can write to the log directory) left
 * them.  The first byte picks the options (timestamps, a since time, a
 * byte limit) and a chunk size; the rest goes through the renderer in
 * chunks, as the follow loop reads them.  Invariants: the output never
 * exceeds the limit, rendering in chunks gives what one pass gives, every
 * byte is consumed once `final` is set, and the tail scan stays within the
 * file and starts on a line boundary.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "node/internal.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static char *render_chunks(const kube_node_log_options_t *o, const char *buf,
                           size_t len, size_t chunk, size_t *out_len) {
  struct nd_log_render r;
  nd_log_render_init(&r, o);
  kube_strbuf_t out = KUBE_STRBUF_INIT, carry = KUBE_STRBUF_INIT;
  kube_strbuf_append(&out, "");
  kube_strbuf_append(&carry, "");
  for (size_t off = 0; off < len && !r.limit_hit; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    kube_strbuf_append_len(&carry, buf + off, n);
    bool final = off + n == len;
    size_t used = nd_log_render_feed(&r, carry.data, carry.len, final, &out);
    CHECK(used <= carry.len);
    CHECK(!final || r.limit_hit || used == carry.len);
    memmove(carry.data, carry.data + used, carry.len - used);
    carry.len -= used;
  }
  if (len == 0)
    nd_log_render_feed(&r, "", 0, true, &out);
  kube_strbuf_clear(&carry);
  *out_len = out.len;
  return kube_strbuf_steal(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t sel = data[0];
  const char *buf = (const char *)data + 1;
  size_t len = size - 1;
  kube_node_log_options_t o = {.struct_size = sizeof o, .tail_lines = -1};
  o.timestamps = sel & 1;
  if (sel & 2)
    o.limit_bytes = 1 + (sel >> 4) * 7;
  if (sel & 4)
    o.since.tv_sec = 1767323045; /* 2026-01-02T03:04:05Z */
  size_t chunk = 1 + (sel >> 3) % 17;

  /* The parser on every line by itself. */
  for (size_t off = 0; off < len;) {
    const char *nl = memchr(buf + off, '\n', len - off);
    size_t end = nl ? (size_t)(nl - buf) + 1 : len;
    struct nd_cri_line l;
    if (nd_cri_parse(buf + off, end - off, &l) == 0) {
      CHECK(l.stream == 1 || l.stream == 2);
      CHECK(l.msg >= buf + off && l.msg + l.msg_len <= buf + end);
      char ts[48];
      CHECK(nd_format_rfc3339nano(&l.ts, ts, sizeof ts) < sizeof ts);
    }
    off = end;
  }

  size_t whole_len, chunked_len;
  char *whole = render_chunks(&o, buf, len, len ? len : 1, &whole_len);
  char *chunked = render_chunks(&o, buf, len, chunk, &chunked_len);
  CHECK(whole && chunked);
  CHECK(whole_len == chunked_len && memcmp(whole, chunked, whole_len) == 0);
  CHECK(o.limit_bytes <= 0 || whole_len <= (size_t)o.limit_bytes);
  free(whole);
  free(chunked);

  int fd = memfd_create("fuzz-log", MFD_CLOEXEC);
  if (fd >= 0) {
    if (write(fd, buf, len) == (ssize_t)len) {
      int64_t n = sel % 7;
      int64_t off = nd_log_tail_offset(fd, n);
      CHECK(off >= 0 && (size_t)off <= len);
      CHECK(off == 0 || buf[off - 1] == '\n');
    }
    close(fd);
  }
  return 0;
}
