/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP side of the registry client (registry.c), used by pull.c and
 * push.c.  Internal to the image module.
 */
#ifndef KUBE_IMAGE_REGISTRY_H
#define KUBE_IMAGE_REGISTRY_H

#include "image/internal.h"

/* One endpoint + repository, with its credentials and bearer token.
 * Requests may run on several threads at once. */
typedef struct img_reg_session {
  const img_endpoint_t *ep; /* borrowed */
  char *base;               /* scheme://host[:port] actually used */
  bool insecure;
  bool push;
  bool basic; /* the registry asked for Basic */
  img_auth_t auth;
  pthread_mutex_t mu;
  char *token; /* bearer token, under mu */
} img_reg_session_t;

typedef struct img_reg_response {
  int status;
  char *body; /* NUL-terminated, or NULL */
  size_t body_len;
  char *content_type, *digest, *location, *www_auth, *range;
  int64_t content_length;
} img_reg_response_t;

/* Streaming download: called with each chunk of a 2xx body. */
typedef int (*img_reg_sink_fn)(void *arg, const void *data, size_t len);
/* Streaming upload: fill buf, return bytes (0 at the end), -1 to abort. */
typedef ssize_t (*img_reg_source_fn)(void *arg, char *buf, size_t len);
typedef void (*img_reg_progress_fn)(void *arg, int64_t now, int64_t total);

typedef struct img_reg_request {
  const char *method;
  /* "/<repo>/manifests/x" under the endpoint's /v2, a path that already
   * starts with it, or an absolute URL (upload Location) */
  const char *path;
  const char *const *headers;
  size_t n_headers;
  const char *body;
  size_t body_len;
  img_reg_source_fn source;
  void *source_arg;
  int64_t source_len;
  img_reg_sink_fn sink;
  void *sink_arg;
  size_t max_body; /* for bodies kept in memory (0: 1 MiB) */
  bool follow;     /* follow redirects (blob downloads) */
  img_reg_progress_fn progress;
  void *progress_arg;
} img_reg_request_t;

int img_reg_session_init(img_reg_session_t *ss, const img_endpoint_t *ep,
                         const img_auth_t *auth, bool insecure, bool push,
                         kube_error_t *err);
void img_reg_session_clear(img_reg_session_t *ss);
/* Perform a request; 401 challenges are answered (token or basic) and the
 * request retried.  -1 only when no HTTP answer came (connection, TLS);
 * HTTP errors come back in resp->status. */
int img_reg_request(img_reg_session_t *ss, const img_reg_request_t *rq,
                    img_reg_response_t *resp, kube_error_t *err);
void img_reg_response_clear(img_reg_response_t *r);
/* Set err from an error response (spec error codes); returns -1. */
int img_reg_error(const img_reg_session_t *ss, const img_reg_response_t *r,
                  const char *what, kube_error_t *err);

/* Credentials for an endpoint of a reference: the call's, the pull
 * secrets', registries.yaml's, Docker config's, in that order. */
void img_reg_pick_auth(const kube_image_store_t *s,
                       const kube_image_transfer_options_t *o,
                       const kube_image_ref_t *ref, const img_endpoint_t *ep,
                       img_auth_t *out);

#endif /* KUBE_IMAGE_REGISTRY_H */
