/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl, loaded when the first registry session starts rather than
 * linked: libcurl brings GnuTLS, p11-kit, Kerberos, LDAP, libssh2 and a
 * dozen more libraries whose constructors and relocations cost a daemon
 * 3.4 MB of resident memory from its start, though most daemons never
 * pull an image.  registry.c calls curl_* as usual; the names below lead
 * to the loaded library's functions.
 */
#ifndef KUBE_IMAGE_CURL_LOAD_H
#define KUBE_IMAGE_CURL_LOAD_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include <libkube/core.h>

struct img_curl {
  CURLcode (*global_init)(long flags);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
  CURLcode (*easy_perform)(CURL *c);
  void (*easy_cleanup)(CURL *c);
  const char *(*easy_strerror)(CURLcode rc);
  char *(*easy_escape)(CURL *c, const char *s, int len);
  void (*free)(void *p);
  struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
  void (*slist_free_all)(struct curl_slist *l);
};
extern struct img_curl img_curl;

/* Load libcurl (once; curl_global_init too): 0, or -1 and err says why. */
int img_curl_load(kube_error_t *err);

#undef curl_easy_setopt
#define curl_global_init img_curl.global_init
#define curl_easy_init img_curl.easy_init
#define curl_easy_setopt img_curl.easy_setopt
#define curl_easy_perform img_curl.easy_perform
#define curl_easy_cleanup img_curl.easy_cleanup
#define curl_easy_strerror img_curl.easy_strerror
#define curl_easy_escape img_curl.easy_escape
#define curl_free img_curl.free
#define curl_slist_append img_curl.slist_append
#define curl_slist_free_all img_curl.slist_free_all

#endif
