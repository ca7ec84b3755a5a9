/* SPDX-License-Identifier: Apache-2.0 */
/* kube_error_t -> metav1.Status, and the JSON reply helpers. */
#include <stdarg.h>

#include "apiserver/internal.h"

json_object *as_status_object(const kube_error_t *err) {
  json_object *st = json_object_new_object();
  kube_reason_t reason = err ? err->reason : KUBE_REASON_INTERNAL;
  int code = kube_reason_http_code(reason);
  json_object_object_add(st, "kind", json_object_new_string("Status"));
  json_object_object_add(st, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(st, "metadata", json_object_new_object());
  json_object_object_add(st, "status", json_object_new_string("Failure"));
  const char *msg = err && err->message ? err->message : "internal error";
  json_object_object_add(st, "message", json_object_new_string(msg));
  const char *rs = kube_reason_string(reason);
  if (reason == KUBE_REASON_UNKNOWN)
    rs = "InternalError";
  json_object_object_add(st, "reason", json_object_new_string(rs));
  if (err && (err->details_kind || err->details_name || err->n_causes)) {
    json_object *d = json_object_new_object();
    if (err->details_name)
      json_object_object_add(d, "name",
                             json_object_new_string(err->details_name));
    if (err->details_kind) {
      /* "pods" or "deployments.apps" */
      const char *dot = strchr(err->details_kind, '.');
      if (dot) {
        json_object_object_add(d, "group", json_object_new_string(dot + 1));
        json_object_object_add(
            d, "kind",
            json_object_new_string_len(err->details_kind,
                                       (int)(dot - err->details_kind)));
      } else {
        json_object_object_add(d, "kind",
                               json_object_new_string(err->details_kind));
      }
    }
    if (err->n_causes) {
      json_object *causes = json_object_new_array();
      for (size_t i = 0; i < err->n_causes; i++) {
        json_object *c = json_object_new_object();
        const kube_error_cause_t *ec = &err->causes[i];
        if (ec->type)
          json_object_object_add(c, "reason", json_object_new_string(ec->type));
        if (ec->message)
          json_object_object_add(c, "message",
                                 json_object_new_string(ec->message));
        if (ec->field)
          json_object_object_add(c, "field", json_object_new_string(ec->field));
        json_object_array_add(causes, c);
      }
      json_object_object_add(d, "causes", causes);
    }
    json_object_object_add(st, "details", d);
  }
  json_object_object_add(st, "code", json_object_new_int(code));
  return st;
}

json_object *as_status_new(const char *status) {
  json_object *st = json_object_new_object();
  json_object_object_add(st, "kind", json_object_new_string("Status"));
  json_object_object_add(st, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(st, "metadata", json_object_new_object());
  json_object_object_add(st, "status", json_object_new_string(status));
  return st;
}

json_object *as_status_success(int code) {
  json_object *st = as_status_new("Success");
  json_object_object_add(st, "code", json_object_new_int(code));
  return st;
}

void as_reply_json_str(struct req *r, int code, const char *json, size_t len) {
  if (r->done)
    return;
  r->done = true;
  r->tp->reply(r, code, "application/json", json, len);
}

void as_reply_json_take(struct req *r, int code, char *json, size_t len) {
  if (r->done) {
    free(json);
    return;
  }
  r->done = true;
  if (r->tp->reply_take) {
    r->tp->reply_take(r, code, "application/json", json, len);
    return;
  }
  r->tp->reply(r, code, "application/json", json, len);
  free(json);
}

void as_reply_json(struct req *r, int code, json_object *obj) {
  if (!obj) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  size_t len = 0;
  char *s = api_json_encode(obj, &len);
  json_object_put(obj);
  if (!s) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  as_reply_json_take(r, code, s, len);
}

void as_reply_error(struct req *r, const kube_error_t *err) {
  int code = kube_reason_http_code(err ? err->reason : KUBE_REASON_INTERNAL);
  if (code < 400)
    code = 500;
  if (code >= 500 || kube_log_get_level() >= KUBE_LOG_DEBUG)
    kube_log(code >= 500 ? KUBE_LOG_WARNING : KUBE_LOG_DEBUG,
             "apiserver: %s %s -> %d %s", r->method_str ? r->method_str : "?",
             r->path ? r->path : "?", code,
             err && err->message ? err->message : "");
  as_reply_json(r, code, as_status_object(err));
}

void as_reply_status(struct req *r, kube_reason_t reason, const char *fmt,
                     ...) {
  kube_error_t err = KUBE_ERROR_INIT;
  va_list ap;
  va_start(ap, fmt);
  kube_error_setv(&err, reason, 0, fmt, ap);
  va_end(ap);
  as_reply_error(r, &err);
  kube_error_clear(&err);
}

void as_error_not_found(kube_error_t *err, const kube_kind_t *k,
                        const char *name) {
  char kindbuf[128];
  if (k->group[0])
    snprintf(kindbuf, sizeof kindbuf, "%s.%s", k->resource, k->group);
  else
    snprintf(kindbuf, sizeof kindbuf, "%s", k->resource);
  kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "%s \"%s\" not found", kindbuf,
                 name);
  kube_error_set_details(err, kindbuf, name);
}

void as_error_conflict(kube_error_t *err, const kube_kind_t *k,
                       const char *name) {
  char kindbuf[128];
  if (k->group[0])
    snprintf(kindbuf, sizeof kindbuf, "%s.%s", k->resource, k->group);
  else
    snprintf(kindbuf, sizeof kindbuf, "%s", k->resource);
  kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                 "Operation cannot be fulfilled on %s \"%s\": the object has "
                 "been modified; please apply your changes to the latest "
                 "version and try again",
                 kindbuf, name);
  kube_error_set_details(err, kindbuf, name);
}
