/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for kubeconfig parsing (kube_kubeconfig_parse: YAML or
 * JSON, named clusters/users/contexts, base64 certificate data, tokenFile),
 * then the server URL of the chosen cluster through the client's URL
 * parser.  The first byte picks the context argument (current-context or
 * one of a few names the seeds use), the rest is the file.
 *
 * Relative paths resolve against a private temporary directory holding one
 * token file.  tokenFile is the one field the parser opens: inputs whose
 * tokenFile could name a file outside that directory (absolute, or with
 * "..") are skipped, so that the harness never reads /dev/zero or blocks
 * on /dev/stdin.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

/* Undefined behaviour is a bug like any other: stop at the first report. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
  return "halt_on_error=1:print_stacktrace=1";
}

static char dir[64];
static char token_path[96];

static void cleanup(void) {
  unlink(token_path);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  strcpy(dir, "/tmp/libkube-fuzz-kubeconfig-XXXXXX");
  CHECK(mkdtemp(dir));
  snprintf(token_path, sizeof token_path, "%s/token", dir);
  FILE *f = fopen(token_path, "w");
  CHECK(f);
  fputs("fuzz-token-from-file\n", f);
  fclose(f);
  atexit(cleanup);
  return 0;
}

/* False when some tokenFile could lead outside dir. */
static bool input_usable(json_object *o) {
  if (json_object_is_type(o, json_type_object)) {
    json_object_object_foreach(o, key, val) {
      if (strcmp(key, "tokenFile") == 0 && val) {
        const char *p = json_object_get_string(val);
        if (p && (p[0] == '/' || strstr(p, "..")))
          return false;
      }
      if (!input_usable(val))
        return false;
    }
  } else if (json_object_is_type(o, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(o); i++)
      if (!input_usable(json_object_array_get_idx(o, i)))
        return false;
  }
  return true;
}

static bool absolute_or_null(const char *p) {
  return !p || p[0] == '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  static const char *const contexts[] = {NULL, "", "dev", "prod"};
  const char *context = contexts[data[0] % 4];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;

  json_object *docs = kube_json_decode_stream(text, len, NULL);
  bool usable = !docs || input_usable(docs);
  json_object_put(docs);
  if (!usable)
    return 0;

  kube_error_t err = KUBE_ERROR_INIT;
  kube_kubeconfig_t *kc = kube_kubeconfig_parse(text, len, dir, context, &err);
  if (!kc) {
    CHECK(kube_error_is_set(&err));
    CHECK(err.message && *err.message);
    kube_error_clear(&err);
    return 0;
  }
  CHECK(!kube_error_is_set(&err));
  CHECK(kc->context && *kc->context);
  if (context && *context)
    CHECK(strcmp(kc->context, context) == 0);
  CHECK(kc->cluster);
  CHECK(kc->server && *kc->server);
  CHECK(absolute_or_null(kc->certificate_authority));
  CHECK(absolute_or_null(kc->client_certificate));
  CHECK(absolute_or_null(kc->client_key));
  struct server_url u;
  if (client_server_url_parse(kc->server, &u, &err) == 0) {
    CHECK(u.host && *u.host && u.port && u.prefix);
    size_t pl = strlen(u.prefix);
    CHECK(pl == 0 || u.prefix[pl - 1] != '/');
    if (!u.unix_socket)
      for (const char *q = u.port; *q; q++)
        CHECK(*q >= '0' && *q <= '9');
    client_server_url_clear(&u);
  } else {
    CHECK(kube_error_is_set(&err));
    CHECK(err.reason == KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  }
  kube_kubeconfig_free(kc);
  return 0;
}
