/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl loaded on first use (see curl-load.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "core/util.h"
#include "image/curl-load.h"

/* The soname of libcurl 7.16 and later (Debian's libcurl4). */
#define LIBCURL "libcurl.so.4"

struct img_curl img_curl;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void load(void) {
  void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(load_error, sizeof load_error, "%s", e ? e : LIBCURL);
    return;
  }
  struct {
    const char *name;
    void **fn;
  } syms[] = {
      {"curl_global_init", (void **)&img_curl.global_init},
      {"curl_easy_init", (void **)&img_curl.easy_init},
      {"curl_easy_setopt", (void **)&img_curl.easy_setopt},
      {"curl_easy_perform", (void **)&img_curl.easy_perform},
      {"curl_easy_cleanup", (void **)&img_curl.easy_cleanup},
      {"curl_easy_strerror", (void **)&img_curl.easy_strerror},
      {"curl_easy_escape", (void **)&img_curl.easy_escape},
      {"curl_free", (void **)&img_curl.free},
      {"curl_slist_append", (void **)&img_curl.slist_append},
      {"curl_slist_free_all", (void **)&img_curl.slist_free_all},
  };
  for (size_t i = 0; i < ARRAY_SIZE(syms); i++)
    if (!(*syms[i].fn = dlsym(h, syms[i].name))) {
      snprintf(load_error, sizeof load_error, "%s: no %s", LIBCURL,
               syms[i].name);
      /* the handle stays open: some pointers may already be set */
      return;
    }
  if (img_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    snprintf(load_error, sizeof load_error, "%s: curl_global_init failed",
             LIBCURL);
}

int img_curl_load(kube_error_t *err) {
  pthread_once(&once, load);
  if (load_error[0])
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                          "cannot talk to registries: %s (the libcurl4 "
                          "package)",
                          load_error);
  return 0;
}
