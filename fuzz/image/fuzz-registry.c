/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the built-in registry's request parsing: the
 * first byte picks the parser, the rest is the input.  Routes (repository
 * names, references, upload ids), Content-Range and Range headers and
 * manifest validation must never crash, and what they accept must hold
 * their invariants (valid names, digests, ordered ranges inside the blob).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/regserver.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int which = data[0] % 4;
  char *s = malloc(size);
  if (!s)
    return 0;
  memcpy(s, data + 1, size - 1);
  s[size - 1] = '\0';
  switch (which) {
  case 0: {
    img_rs_route_t r;
    if (img_rs_route_parse(s, &r) == RS_OK) {
      if (r.kind >= RS_MANIFEST && r.kind != RS_TOKEN)
        CHECK(img_rs_name_valid(r.name) && !strstr(r.name, ".."));
      if (r.ref_is_digest)
        CHECK(img_digest_valid(r.ref));
      if (r.kind == RS_UPLOAD)
        CHECK(strlen(r.ref) == RS_UUID_LEN && !strchr(r.ref, '/'));
      if (r.kind == RS_MANIFEST && !r.ref_is_digest)
        CHECK(img_rs_tag_valid(r.ref));
    }
    break;
  }
  case 1: {
    int64_t a = 0, b = 0;
    if (img_rs_content_range_parse(s, &a, &b))
      CHECK(a >= 0 && b >= a);
    break;
  }
  case 2: {
    int64_t size_ = (int64_t)(data[0] >> 2) * 1000;
    int64_t a = -1, b = -1;
    if (img_rs_range_parse(s, size_, &a, &b) == 0)
      CHECK(a >= 0 && a <= b && b < size_);
    break;
  }
  default: {
    img_rs_manifest_info_t mi;
    char msg[160];
    const char *ct = (data[0] & 4) ? IMG_MT_OCI_MANIFEST : NULL;
    if (img_rs_manifest_check(s, size - 1, ct, &mi, msg, sizeof msg) == RS_OK) {
      CHECK(mi.media_type != NULL);
      for (size_t i = 0; i < mi.n_refs; i++)
        CHECK(img_digest_valid(mi.refs[i]));
      CHECK(!mi.subject || img_digest_valid(mi.subject));
      img_rs_manifest_info_clear(&mi);
    } else {
      CHECK(msg[0] != '\0');
    }
    break;
  }
  }
  free(s);
  return 0;
}
