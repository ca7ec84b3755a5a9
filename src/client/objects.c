/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed helpers over the raw request API: REST paths from the kinds table,
 * get/list/create/replace/patch/apply/delete and watch.
 */
#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

KUBE_EXPORT char *kube_client_path(const kube_kind_t *kind, const char *ns,
                                   const char *name, const char *sub) {
  /* Appends, not printf: every request of a client builds one. */
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (!kind->group || !*kind->group) {
    kube_strbuf_append(&sb, "/api/");
  } else {
    kube_strbuf_append(&sb, "/apis/");
    kube_strbuf_append(&sb, kind->group);
    kube_strbuf_append_char(&sb, '/');
  }
  kube_strbuf_append(&sb, kind->version);
  if (kind->namespaced && ns && *ns) {
    kube_strbuf_append(&sb, "/namespaces/");
    kube_strbuf_append(&sb, ns);
  }
  kube_strbuf_append_char(&sb, '/');
  kube_strbuf_append(&sb, kind->resource);
  if (name && *name) {
    kube_strbuf_append_char(&sb, '/');
    kube_strbuf_append(&sb, name);
    if (sub && *sub) {
      kube_strbuf_append_char(&sb, '/');
      kube_strbuf_append(&sb, sub);
    }
  }
  return kube_strbuf_steal(&sb);
}

void client_query_add(kube_strbuf_t *q, const char *key, const char *value) {
  if (!value)
    return;
  char *esc = client_query_escape(value);
  if (!esc) {
    q->oom = true;
    return;
  }
  kube_strbuf_printf(q, "%s%s=%s", q->len ? "&" : "", key, esc);
  free(esc);
}

void client_write_query(kube_strbuf_t *q,
                        const kube_client_write_options_t *o) {
  if (!o)
    return;
  if (o->dry_run)
    client_query_add(q, "dryRun", "All");
  if (o->field_manager)
    client_query_add(q, "fieldManager", o->field_manager);
  if (o->field_validation)
    client_query_add(q, "fieldValidation", o->field_validation);
}

void client_write_options_copy(kube_client_write_options_t *dst,
                               const kube_client_write_options_t *src) {
  memset(dst, 0, sizeof *dst);
  dst->grace_period = -1;
  core_opts_copy(dst, src);
}

static void copy_list_options(kube_client_list_options_t *dst,
                              const kube_client_list_options_t *src) {
  memset(dst, 0, sizeof *dst);
  core_opts_copy(dst, src);
}

/* Send a request whose successful answer is one object. */
static kube_object_t *object_call(kube_client_t *c, const char *method,
                                  const char *path, const char *query,
                                  const char *content_type, const char *body,
                                  kube_error_t *err) {
  kube_client_request_t req = {
      .struct_size = sizeof req,
      .method = method,
      .path = path,
      .query = query && *query ? query : NULL,
      .content_type = body ? content_type : NULL,
      .body = body,
      .body_len = body ? strlen(body) : 0,
  };
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  if (kube_client_request(c, &req, &resp, err) < 0)
    return NULL;
  kube_object_t *obj = NULL;
  if (kube_client_check(&resp, err) == 0)
    obj = kube_object_from_json(resp.body, resp.body_len, err);
  kube_client_response_clear(&resp);
  return obj;
}

static const char *default_ns(kube_client_t *c, const char *ns) {
  return ns && *ns ? ns : c->namespace_;
}

char *client_delete_options_json(const kube_client_write_options_t *o) {
  kube_strbuf_t b = KUBE_STRBUF_INIT;
  kube_strbuf_append(&b, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\"");
  if (o->grace_period >= 0)
    kube_strbuf_printf(&b, ",\"gracePeriodSeconds\":%lld",
                       (long long)o->grace_period);
  if (o->propagation) {
    kube_strbuf_append(&b, ",\"propagationPolicy\":");
    kube_strbuf_append_json_string(&b, o->propagation);
  }
  if (o->precondition_uid || o->precondition_resource_version) {
    const char *sep = "";
    kube_strbuf_append(&b, ",\"preconditions\":{");
    if (o->precondition_uid) {
      kube_strbuf_append(&b, "\"uid\":");
      kube_strbuf_append_json_string(&b, o->precondition_uid);
      sep = ",";
    }
    if (o->precondition_resource_version) {
      kube_strbuf_printf(&b, "%s\"resourceVersion\":", sep);
      kube_strbuf_append_json_string(&b, o->precondition_resource_version);
    }
    kube_strbuf_append(&b, "}");
  }
  if (o->dry_run)
    kube_strbuf_append(&b, ",\"dryRun\":[\"All\"]");
  kube_strbuf_append(&b, "}");
  return kube_strbuf_steal(&b);
}

KUBE_EXPORT kube_object_t *kube_client_get(kube_client_t *c,
                                           const kube_kind_t *kind,
                                           const char *ns, const char *name,
                                           kube_error_t *err) {
  cleanup_free char *path =
      kube_client_path(kind, default_ns(c, ns), name, NULL);
  if (!path)
    return kube_make_oom(err), NULL;
  return object_call(c, "GET", path, NULL, NULL, NULL, err);
}

static char *list_query(const kube_client_list_options_t *o, bool watch) {
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  if (watch)
    client_query_add(&q, "watch", "true");
  if (o->label_selector && *o->label_selector)
    client_query_add(&q, "labelSelector", o->label_selector);
  if (o->field_selector && *o->field_selector)
    client_query_add(&q, "fieldSelector", o->field_selector);
  if (o->resource_version && *o->resource_version)
    client_query_add(&q, "resourceVersion", o->resource_version);
  if (o->timeout_seconds > 0)
    kube_strbuf_printf(&q, "%stimeoutSeconds=%d", q.len ? "&" : "",
                       o->timeout_seconds);
  return kube_strbuf_steal(&q);
}

KUBE_EXPORT kube_object_t *
kube_client_list(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                 const kube_client_list_options_t *opts, kube_error_t *err) {
  kube_client_list_options_t o;
  copy_list_options(&o, opts);
  cleanup_free char *path = kube_client_path(kind, ns, NULL, NULL);
  cleanup_free char *query = list_query(&o, false);
  if (!path || !query)
    return kube_make_oom(err), NULL;
  return object_call(c, "GET", path, query, NULL, NULL, err);
}

const kube_kind_t *client_kind_of(const kube_kind_t *kind,
                                  const kube_object_t *obj, kube_error_t *err) {
  if (kind)
    return kind;
  const char *av = kube_object_api_version(obj), *k = kube_object_kind(obj);
  if (!av || !k)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "Object 'Kind' is missing"),
           NULL;
  kind = kube_kind_by_kind(av, k);
  if (!kind)
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                   "no matches for kind \"%s\" in version \"%s\"", k, av);
  return kind;
}

static kube_object_t *write_object(kube_client_t *c, const char *method,
                                   const kube_kind_t *kind, const char *ns,
                                   const kube_object_t *obj, bool with_name,
                                   const kube_client_write_options_t *opts,
                                   kube_error_t *err) {
  kind = client_kind_of(kind, obj, err);
  if (!kind)
    return NULL;
  if (!ns || !*ns)
    ns = kube_object_namespace(obj);
  const char *name = kube_object_name(obj);
  if (with_name && (!name || !*name))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "resource name may not be empty"),
           NULL;
  kube_client_write_options_t o;
  client_write_options_copy(&o, opts);
  cleanup_free char *path =
      kube_client_path(kind, default_ns(c, ns), with_name ? name : NULL, NULL);
  cleanup_free char *body = kube_object_to_json(obj, KUBE_JSON_COMPACT);
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  client_write_query(&q, &o);
  cleanup_free char *query = kube_strbuf_steal(&q);
  if (!path || !body || !query)
    return kube_make_oom(err), NULL;
  return object_call(c, method, path, query, "application/json", body, err);
}

KUBE_EXPORT kube_object_t *
kube_client_create(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                   const kube_object_t *obj,
                   const kube_client_write_options_t *opts, kube_error_t *err) {
  return write_object(c, "POST", kind, ns, obj, false, opts, err);
}

KUBE_EXPORT kube_object_t *
kube_client_replace(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                    const kube_object_t *obj,
                    const kube_client_write_options_t *opts,
                    kube_error_t *err) {
  return write_object(c, "PUT", kind, ns, obj, true, opts, err);
}

KUBE_EXPORT int kube_patch_type_parse(const char *s) {
  if (!s)
    return -1;
  if (streq(s, "strategic"))
    return KUBE_PATCH_STRATEGIC;
  if (streq(s, "merge"))
    return KUBE_PATCH_MERGE;
  if (streq(s, "json"))
    return KUBE_PATCH_JSON;
  if (streq(s, "apply"))
    return KUBE_PATCH_APPLY;
  return -1;
}

KUBE_EXPORT const char *kube_patch_type_content_type(kube_patch_type_t type) {
  switch (type) {
  case KUBE_PATCH_MERGE:
    return "application/merge-patch+json";
  case KUBE_PATCH_JSON:
    return "application/json-patch+json";
  case KUBE_PATCH_APPLY:
    return "application/apply-patch+yaml";
  case KUBE_PATCH_STRATEGIC:
  default:
    return "application/strategic-merge-patch+json";
  }
}

static kube_object_t *do_patch(kube_client_t *c, const kube_kind_t *kind,
                               const char *ns, const char *name,
                               const char *sub, kube_patch_type_t type,
                               const char *patch,
                               const kube_client_write_options_t *o,
                               kube_error_t *err) {
  cleanup_free char *path =
      kube_client_path(kind, default_ns(c, ns), name, sub);
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  client_write_query(&q, o);
  if (type == KUBE_PATCH_APPLY && o->force)
    client_query_add(&q, "force", "true");
  cleanup_free char *query = kube_strbuf_steal(&q);
  if (!path || !query)
    return kube_make_oom(err), NULL;
  return object_call(c, "PATCH", path, query,
                     kube_patch_type_content_type(type), patch, err);
}

KUBE_EXPORT kube_object_t *
kube_client_patch(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                  const char *name, const char *sub, kube_patch_type_t type,
                  const char *patch, const kube_client_write_options_t *opts,
                  kube_error_t *err) {
  if (!name || !*name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "resource name may not be empty"),
           NULL;
  kube_client_write_options_t o;
  client_write_options_copy(&o, opts);
  if (type == KUBE_PATCH_APPLY && !o.field_manager)
    o.field_manager = "kube";
  return do_patch(c, kind, ns, name, sub, type, patch, &o, err);
}

KUBE_EXPORT kube_object_t *
kube_client_apply(kube_client_t *c, const kube_object_t *obj,
                  const kube_client_write_options_t *opts, kube_error_t *err) {
  const kube_kind_t *kind = client_kind_of(NULL, obj, err);
  if (!kind)
    return NULL;
  cleanup_free char *body = kube_object_to_json(obj, KUBE_JSON_COMPACT);
  if (!body)
    return kube_make_oom(err), NULL;
  return kube_client_patch(c, kind, kube_object_namespace(obj),
                           kube_object_name(obj), NULL, KUBE_PATCH_APPLY, body,
                           opts, err);
}

KUBE_EXPORT int kube_client_delete(kube_client_t *c, const kube_kind_t *kind,
                                   const char *ns, const char *name,
                                   const kube_client_write_options_t *opts,
                                   kube_object_t **out, kube_error_t *err) {
  if (!name || !*name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "resource name may not be empty");
  kube_client_write_options_t o;
  client_write_options_copy(&o, opts);
  cleanup_free char *path =
      kube_client_path(kind, default_ns(c, ns), name, NULL);
  cleanup_free char *body = client_delete_options_json(&o);
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  if (o.dry_run)
    client_query_add(&q, "dryRun", "All");
  cleanup_free char *query = kube_strbuf_steal(&q);
  if (!path || !body || !query)
    return kube_make_oom(err);
  kube_object_t *res =
      object_call(c, "DELETE", path, query, "application/json", body, err);
  if (!res)
    return -1;
  if (out)
    *out = res;
  else
    kube_object_free(res);
  return 0;
}

KUBE_EXPORT char *kube_client_query_escape(const char *value) {
  return client_query_escape(value);
}

struct watch_ctx {
  kube_client_watch_fn fn;
  void *ud;
  bool skip_bookmarks;
  kube_error_t failure; /* set when an ERROR event ended the watch */
};

static int watch_line(const char *line, size_t len, void *ud) {
  struct watch_ctx *w = ud;
  json_object *ev = kube_json_parse(line, len, &w->failure);
  if (!ev)
    return 1;
  json_object *type, *obj;
  if (!json_object_object_get_ex(ev, "type", &type) ||
      !json_object_object_get_ex(ev, "object", &obj) ||
      !json_object_is_type(obj, json_type_object)) {
    json_object_put(ev);
    kube_error_set(&w->failure, KUBE_REASON_INTERNAL, 0,
                   "malformed watch event");
    return 1;
  }
  const char *t = json_object_get_string(type);
  if (w->skip_bookmarks && streq(t, "BOOKMARK")) {
    json_object_put(ev);
    return 0;
  }
  if (streq(t, "ERROR")) {
    json_object *code, *msg, *reason;
    int c = json_object_object_get_ex(obj, "code", &code)
                ? json_object_get_int(code)
                : 500;
    kube_reason_t r =
        json_object_object_get_ex(obj, "reason", &reason)
            ? kube_reason_from_string(json_object_get_string(reason))
            : KUBE_REASON_UNKNOWN;
    if (c == 410)
      r = KUBE_REASON_EXPIRED;
    else if (r == KUBE_REASON_UNKNOWN)
      r = kube_reason_from_http_code(c);
    kube_error_set(&w->failure, r, 0, "%s",
                   json_object_object_get_ex(obj, "message", &msg)
                       ? json_object_get_string(msg)
                       : "watch failed");
  }
  kube_object_t *o = kube_object_wrap(json_object_get(obj));
  int stop = o ? w->fn(t, o, w->ud) : 1;
  bool error_event = streq(t, "ERROR");
  kube_object_free(o);
  json_object_put(ev);
  return error_event ? 1 : stop;
}

int client_watch(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                 const kube_client_list_options_t *opts, const char *accept,
                 bool skip_bookmarks, kube_client_watch_fn fn, void *userdata,
                 kube_error_t *err) {
  kube_client_list_options_t o;
  copy_list_options(&o, opts);
  cleanup_free char *path = kube_client_path(kind, ns, NULL, NULL);
  cleanup_free char *query = list_query(&o, true);
  if (!path || !query)
    return kube_make_oom(err);
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "GET",
                               .path = path,
                               .query = query,
                               .accept = accept};
  struct watch_ctx w = {fn, userdata, skip_bookmarks, KUBE_ERROR_INIT};
  int r = kube_client_stream(c, &req, watch_line, &w, err);
  if (r == 0 && kube_error_is_set(&w.failure)) {
    kube_error_move(err, &w.failure);
    r = -1;
  }
  kube_error_clear(&w.failure);
  return r;
}

KUBE_EXPORT int kube_client_watch(kube_client_t *c, const kube_kind_t *kind,
                                  const char *ns,
                                  const kube_client_list_options_t *opts,
                                  kube_client_watch_fn fn, void *userdata,
                                  kube_error_t *err) {
  return client_watch(c, kind, ns, opts, NULL, false, fn, userdata, err);
}
