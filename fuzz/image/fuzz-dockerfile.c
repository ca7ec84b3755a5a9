/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the Dockerfile parser and everything a Dockerfile
 * feeds without running anything: word expansion, config instructions
 * (ENV, LABEL, CMD, HEALTHCHECK, ...), and the same bytes as a
 * .dockerignore.  Failures must carry an error; successes must be usable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

static const char *lookup(void *ctx, const char *name) {
  (void)ctx;
  return strlen(name) % 2 ? "value with spaces" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  kube_error_t err = KUBE_ERROR_INIT;
  img_dockerfile_t df;
  if (img_dockerfile_parse(s, size, &df, &err) < 0) {
    CHECK(kube_error_is_set(&err));
    kube_error_clear(&err);
  } else {
    CHECK(df.n > 0);
    json_object *cfg = json_object_new_object();
    for (size_t i = 0; i < df.n; i++) {
      const img_df_instr_t *in = &df.instrs[i];
      CHECK(in->cmd && in->rest && in->args);
      CHECK(img_strv_len(in->args) == in->n_args);
      char *x = img_df_expand(in->rest, df.escape, lookup, NULL, &err);
      CHECK(x || kube_error_is_set(&err));
      free(x);
      kube_error_clear(&err);
      size_t n = 0;
      char **w = img_df_words(in->rest, df.escape, lookup, NULL, &n, &err);
      CHECK(w || kube_error_is_set(&err));
      CHECK(!w || img_strv_len(w) == n);
      img_strv_free(w);
      kube_error_clear(&err);
      if (img_df_apply_config(cfg, in, df.escape, lookup, NULL, &err) < 0)
        CHECK(kube_error_is_set(&err));
      kube_error_clear(&err);
    }
    kube_image_config_t c;
    json_object *root = json_object_new_object();
    json_object_object_add(root, "config", cfg);
    CHECK(img_config_from_json(root, &c, &err) == 0);
    kube_image_config_clear(&c);
    json_object_put(root);
    img_dockerfile_clear(&df);
  }
  img_ignore_t ig;
  if (img_ignore_parse(s, &ig, &err) == 0) {
    (void)img_ignore_match(&ig, "a/b/c.txt");
    (void)img_ignore_match(&ig, "node_modules");
    img_ignore_clear(&ig);
  }
  kube_error_clear(&err);
  free(s);
  return 0;
}
