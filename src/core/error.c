/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const struct {
  const char *name;
  int code;
} reasons[KUBE_REASON__COUNT] = {
    [KUBE_REASON_UNKNOWN] = {"", 500},
    [KUBE_REASON_BAD_REQUEST] = {"BadRequest", 400},
    [KUBE_REASON_UNAUTHORIZED] = {"Unauthorized", 401},
    [KUBE_REASON_FORBIDDEN] = {"Forbidden", 403},
    [KUBE_REASON_NOT_FOUND] = {"NotFound", 404},
    [KUBE_REASON_METHOD_NOT_ALLOWED] = {"MethodNotAllowed", 405},
    [KUBE_REASON_NOT_ACCEPTABLE] = {"NotAcceptable", 406},
    [KUBE_REASON_ALREADY_EXISTS] = {"AlreadyExists", 409},
    [KUBE_REASON_CONFLICT] = {"Conflict", 409},
    [KUBE_REASON_GONE] = {"Gone", 410},
    [KUBE_REASON_EXPIRED] = {"Expired", 410},
    [KUBE_REASON_TOO_LARGE] = {"RequestEntityTooLarge", 413},
    [KUBE_REASON_UNSUPPORTED_MEDIA_TYPE] = {"UnsupportedMediaType", 415},
    [KUBE_REASON_INVALID] = {"Invalid", 422},
    [KUBE_REASON_TOO_MANY_REQUESTS] = {"TooManyRequests", 429},
    [KUBE_REASON_INTERNAL] = {"InternalError", 500},
    [KUBE_REASON_SERVICE_UNAVAILABLE] = {"ServiceUnavailable", 503},
    [KUBE_REASON_TIMEOUT] = {"Timeout", 504},
};

/* Used when even the message cannot be allocated; never freed. */
static char oom_message[] = "out of memory";

KUBE_EXPORT const char *kube_reason_string(kube_reason_t reason) {
  if ((unsigned)reason >= KUBE_REASON__COUNT)
    return "";
  return reasons[reason].name;
}

KUBE_EXPORT int kube_reason_http_code(kube_reason_t reason) {
  if ((unsigned)reason >= KUBE_REASON__COUNT)
    return 500;
  return reasons[reason].code;
}

KUBE_EXPORT kube_reason_t kube_reason_from_string(const char *s) {
  if (!s || !*s)
    return KUBE_REASON_UNKNOWN;
  for (int i = 1; i < KUBE_REASON__COUNT; i++)
    if (strcmp(reasons[i].name, s) == 0)
      return (kube_reason_t)i;
  return KUBE_REASON_UNKNOWN;
}

KUBE_EXPORT kube_reason_t kube_reason_from_http_code(int code) {
  switch (code) {
  case 400: return KUBE_REASON_BAD_REQUEST;
  case 401: return KUBE_REASON_UNAUTHORIZED;
  case 403: return KUBE_REASON_FORBIDDEN;
  case 404: return KUBE_REASON_NOT_FOUND;
  case 405: return KUBE_REASON_METHOD_NOT_ALLOWED;
  case 406: return KUBE_REASON_NOT_ACCEPTABLE;
  case 409: return KUBE_REASON_CONFLICT;
  case 410: return KUBE_REASON_GONE;
  case 413: return KUBE_REASON_TOO_LARGE;
  case 415: return KUBE_REASON_UNSUPPORTED_MEDIA_TYPE;
  case 422: return KUBE_REASON_INVALID;
  case 429: return KUBE_REASON_TOO_MANY_REQUESTS;
  case 503: return KUBE_REASON_SERVICE_UNAVAILABLE;
  case 504: return KUBE_REASON_TIMEOUT;
  default: return code >= 500 ? KUBE_REASON_INTERNAL : KUBE_REASON_UNKNOWN;
  }
}

static void free_message(char *m) {
  if (m != oom_message)
    free(m);
}

KUBE_EXPORT void kube_error_clear(kube_error_t *err) {
  if (!err)
    return;
  free_message(err->message);
  free(err->details_kind);
  free(err->details_name);
  for (size_t i = 0; i < err->n_causes; i++) {
    free(err->causes[i].field);
    free(err->causes[i].type);
    free(err->causes[i].message);
  }
  free(err->causes);
  memset(err, 0, sizeof(*err));
}

KUBE_EXPORT bool kube_error_is_set(const kube_error_t *err) {
  return err && err->message != NULL;
}

KUBE_EXPORT int kube_error_setv(kube_error_t *err, kube_reason_t reason,
                                int errnum, const char *fmt, va_list ap) {
  if (!err)
    return -1;
  kube_error_clear(err);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = oom_message;
  err->reason = reason;
  err->errnum = errnum;
  err->message = msg;
  return -1;
}

KUBE_EXPORT int kube_error_set(kube_error_t *err, kube_reason_t reason,
                               int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kube_error_setv(err, reason, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

KUBE_EXPORT int kube_error_wrap(kube_error_t *err, const char *fmt, ...) {
  if (!err || !err->message)
    return -1;
  char *prefix = NULL, *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&prefix, fmt, ap);
  va_end(ap);
  if (r < 0)
    return -1;
  if (asprintf(&msg, "%s: %s", prefix, err->message) >= 0) {
    free_message(err->message);
    err->message = msg;
  }
  free(prefix);
  return -1;
}

KUBE_EXPORT void kube_error_add_cause(kube_error_t *err, const char *field,
                                      const char *type, const char *message) {
  if (!err)
    return;
  kube_error_cause_t *c =
      realloc(err->causes, (err->n_causes + 1) * sizeof(*err->causes));
  if (!c)
    return;
  err->causes = c;
  c += err->n_causes;
  c->field = field ? strdup(field) : NULL;
  c->type = type ? strdup(type) : NULL;
  c->message = message ? strdup(message) : NULL;
  err->n_causes++;
}

KUBE_EXPORT void kube_error_set_details(kube_error_t *err, const char *kind,
                                        const char *name) {
  if (!err)
    return;
  free(err->details_kind);
  free(err->details_name);
  err->details_kind = kind ? strdup(kind) : NULL;
  err->details_name = name ? strdup(name) : NULL;
}

KUBE_EXPORT void kube_error_move(kube_error_t *dst, kube_error_t *src) {
  if (!dst) {
    kube_error_clear(src);
    return;
  }
  kube_error_clear(dst);
  if (src) {
    *dst = *src;
    memset(src, 0, sizeof(*src));
  }
}
