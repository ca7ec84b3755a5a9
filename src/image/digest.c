/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 digests through OpenSSL's EVP interface, and chain IDs. */
#include <stdio.h>
#include <string.h>

#include "image/internal.h"

int img_hash_init(img_hash_t *h, kube_error_t *err) {
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    return kube_make_oom(err);
  }
  return 0;
}

void img_hash_update(img_hash_t *h, const void *data, size_t len) {
  if (h->ctx && len)
    EVP_DigestUpdate(h->ctx, data, len);
}

void img_hash_final(img_hash_t *h, char out[72]) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(h->ctx, md, &n);
  memcpy(out, "sha256:", 7);
  for (unsigned i = 0; i < 32; i++)
    snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
  img_hash_clear(h);
}

void img_hash_clear(img_hash_t *h) {
  EVP_MD_CTX_free(h->ctx);
  h->ctx = NULL;
}

char *img_digest_of(const void *data, size_t len) {
  img_hash_t h;
  if (img_hash_init(&h, NULL) < 0)
    return NULL;
  img_hash_update(&h, data, len);
  char out[72];
  img_hash_final(&h, out);
  return strdup(out);
}

bool img_digest_valid(const char *d) {
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

char *img_chain_id(const char *parent, const char *diff_id) {
  if (!parent)
    return strdup(diff_id);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s %s", parent, diff_id);
  if (sb.oom)
    return NULL;
  char *d = img_digest_of(sb.data, sb.len);
  kube_strbuf_clear(&sb);
  return d;
}
