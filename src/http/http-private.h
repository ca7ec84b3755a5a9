/* SPDX-License-Identifier: Apache-2.0 */
/* What other modules of the library (the apiserver's in-process request
 * path) may use of the http module beyond <libkube/http.h>. */
#ifndef KUBE_HTTP_PRIVATE_H
#define KUBE_HTTP_PRIVATE_H

#include <libkube/http.h>

/* A request that came from no connection (an in-process call): the
 * accessors work as for a network request ("in-process" as peer, unix as
 * transport), replies go nowhere and just release it, upgrade and hijack
 * fail.  `method`, `target`, `body` are copied; `headers` are "Name",
 * "value" pairs, NULL-terminated (may be NULL).  Owned: finish it like any
 * request.  NULL with err: BadRequest for a malformed target (bad escape,
 * NUL), or out of memory. */
kube_http_request_t *http_request_new_local(const char *method,
                                            const char *target,
                                            const char *const *headers,
                                            const char *body, size_t len,
                                            kube_error_t *err);

/* Fill err with `what` and OpenSSL's last error (its queue is cleared).
 * Returns -1. */
int http_ssl_error(kube_error_t *err, const char *what);

/* Where the replies of a local request go (instead of nowhere).  Each
 * runs at most once per request, in order: reply, or stream_begin,
 * stream_data..., stream_end.  `arg` as given. */
struct http_local_sink {
  void (*reply)(void *arg, int status, const char *ctype, const void *body,
                size_t len);
  void (*stream_begin)(void *arg, int status, const char *ctype);
  void (*stream_data)(void *arg, const void *data, size_t len);
  void (*stream_end)(void *arg);
};
/* `sink` is borrowed (static).  Call before handing the request over. */
void http_request_set_local_sink(kube_http_request_t *r,
                                 const struct http_local_sink *sink, void *arg);
/* The in-process caller went away: the request's close callback runs (the
 * request stays valid) and its replies go nowhere from now on. */
void http_request_local_disconnect(kube_http_request_t *r);

#endif /* KUBE_HTTP_PRIVATE_H */
