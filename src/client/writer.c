/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed writes over a kube_transport_t with completion callbacks: the
 * asynchronous counterpart of objects.c, sharing its paths, queries and
 * DeleteOptions.  Replies are parsed only for callbacks that want them: a
 * recorder or a binding loop sending thousands of writes needs the status
 * alone.
 */
#include <limits.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

struct wcall {
  kube_writer_t *w;
  kube_transport_call_t *call;
  kube_writer_cb cb;
  void *arg;
  enum client_result result;
  struct wcall *prev, *next;
};

struct kube_writer {
  kube_transport_t tp;
  struct wcall *calls;
  size_t n;
};

static void unlink_call(struct wcall *c) {
  kube_writer_t *w = c->w;
  if (c->prev)
    c->prev->next = c->next;
  else
    w->calls = c->next;
  if (c->next)
    c->next->prev = c->prev;
  w->n--;
}

void client_reply_error(int status, const char *data, size_t len,
                        kube_error_t *err) {
  if (status == 0) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "no reply from the server%s%.*s", len ? ": " : "",
                   (int)(len > 300 ? 300 : len), data ? data : "");
    return;
  }
  /* kube_client_check wants NUL-terminated text. */
  char *copy = strndup(data ? data : "", len);
  kube_client_response_t resp = {
      .status = status, .body = copy ? copy : "", .body_len = copy ? len : 0};
  if (kube_client_check(&resp, err) == 0)
    kube_error_set(err, kube_reason_from_http_code(status), 0,
                   "unexpected status %d", status);
  free(copy);
}

static kube_object_t *parse_result(const char *data, size_t len) {
  if (!len || len > INT_MAX)
    return NULL;
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return NULL;
  json_object *o = json_tokener_parse_ex(tok, data, (int)len);
  bool ok = o && json_tokener_get_error(tok) == json_tokener_success &&
            json_object_is_type(o, json_type_object);
  json_tokener_free(tok);
  if (!ok) {
    json_object_put(o);
    return NULL;
  }
  return kube_object_wrap(o);
}

/* The reply's metadata (name, namespace, resourceVersion) alone, from a
 * scan of the text. */
static kube_object_t *parse_meta(const char *data, size_t len) {
  struct client_json_meta m;
  if (!len)
    return NULL;
  client_json_scan_meta(data, len, &m);
  if (!m.found)
    return NULL;
  json_object *o = json_object_new_object();
  json_object *meta = json_object_new_object();
  if (!o || !meta) {
    json_object_put(o);
    json_object_put(meta);
    return NULL;
  }
  json_object_object_add(o, "metadata", meta);
  if (m.name)
    json_object_object_add(meta, "name",
                           json_object_new_string_len(m.name, (int)m.name_len));
  if (m.ns)
    json_object_object_add(meta, "namespace",
                           json_object_new_string_len(m.ns, (int)m.ns_len));
  if (m.rv)
    json_object_object_add(meta, "resourceVersion",
                           json_object_new_string_len(m.rv, (int)m.rv_len));
  return kube_object_wrap(o);
}

static void reply_cb(int status, const char *ctype, const char *data,
                     size_t len, bool done, void *arg) {
  struct wcall *c = arg;
  if (!done)
    return; /* writes have plain replies */
  unlink_call(c);
  if (c->cb) {
    if (status >= 200 && status < 300) {
      kube_object_t *res = c->result == CLIENT_RESULT_OBJECT
                               ? parse_result(data, len)
                           : c->result == CLIENT_RESULT_META ? parse_meta(data, len)
                                                             : NULL;
      c->cb(res, NULL, c->arg);
      kube_object_free(res);
    } else {
      kube_error_t err = KUBE_ERROR_INIT;
      client_reply_error(status, data, len, &err);
      c->cb(NULL, &err, c->arg);
      kube_error_clear(&err);
    }
  }
  free(c);
}

int client_writer_send(kube_writer_t *w, const char *method, const char *path,
                       const char *content_type, const char *body, size_t len,
                       enum client_result result, kube_writer_cb cb,
                       void *arg, kube_error_t *err) {
  if (!w || !method || !path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a write needs a method and a path");
  struct wcall *c = calloc(1, sizeof *c);
  if (!c)
    return kube_make_oom(err);
  c->w = w;
  c->cb = cb;
  c->arg = arg;
  c->result = cb ? result : CLIENT_RESULT_NONE;
  kube_transport_request_t req = {
      .struct_size = sizeof req,
      .method = method,
      .path = path,
      .content_type = body ? content_type : NULL,
      .body = body,
      .body_len = body ? len : 0,
  };
  c->call = kube_transport_request(&w->tp, &req, reply_cb, c, err);
  if (!c->call) {
    free(c);
    return -1;
  }
  c->next = w->calls;
  if (w->calls)
    w->calls->prev = c;
  w->calls = c;
  w->n++;
  return 0;
}

KUBE_EXPORT kube_writer_t *kube_writer_new(kube_loop_t *loop,
                                           const kube_transport_t *tp,
                                           kube_error_t *err) {
  if (!kube_loop_base(loop) || !tp || !tp->ops) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "a writer needs an event loop and a transport");
    return NULL;
  }
  kube_writer_t *w = calloc(1, sizeof *w);
  if (!w) {
    kube_make_oom(err);
    return NULL;
  }
  w->tp = *tp;
  return w;
}

KUBE_EXPORT void kube_writer_free(kube_writer_t *w) {
  if (!w)
    return;
  while (w->calls) {
    struct wcall *c = w->calls;
    unlink_call(c);
    kube_transport_cancel(&w->tp, c->call);
    free(c);
  }
  free(w);
}

KUBE_EXPORT size_t kube_writer_in_flight(const kube_writer_t *w) {
  return w->n;
}

KUBE_EXPORT int kube_writer_send(kube_writer_t *w, const char *method,
                                 const char *path, const char *content_type,
                                 const char *body, size_t len,
                                 kube_writer_cb cb, void *arg,
                                 kube_error_t *err) {
  return client_writer_send(w, method, path,
                            content_type ? content_type : "application/json",
                            body, len, CLIENT_RESULT_OBJECT, cb, arg, err);
}

/* The namespace a write goes to. */
static const char *ns_for(const kube_kind_t *kind, const char *ns,
                          const kube_object_t *obj) {
  if (!kind->namespaced)
    return NULL;
  if (ns && *ns)
    return ns;
  const char *o = obj ? kube_object_namespace(obj) : NULL;
  return o && *o ? o : "default";
}

/* path?query of a write. */
static char *write_target(const kube_kind_t *kind, const char *ns,
                          const char *name, const char *sub,
                          const kube_client_write_options_t *o,
                          bool apply_force) {
  cleanup_free char *path = kube_client_path(kind, ns, name, sub);
  if (!path)
    return NULL;
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  client_write_query(&q, o);
  if (apply_force)
    client_query_add(&q, "force", "true");
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, path);
  if (q.len)
    kube_strbuf_printf(&sb, "?%s", q.data ? q.data : "");
  if (q.oom)
    sb.oom = true;
  kube_strbuf_clear(&q);
  return kube_strbuf_steal(&sb);
}

static int write_object(kube_writer_t *w, const char *method,
                        const kube_kind_t *kind, const char *ns,
                        const kube_object_t *obj, bool with_name,
                        const char *sub,
                        const kube_client_write_options_t *opts,
                        kube_writer_cb cb, void *arg, kube_error_t *err) {
  if (!obj)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "no object to write");
  kind = client_kind_of(kind, obj, err);
  if (!kind)
    return -1;
  const char *name = kube_object_name(obj);
  if (with_name && (!name || !*name))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "resource name may not be empty");
  kube_client_write_options_t o;
  client_write_options_copy(&o, opts);
  cleanup_free char *target = write_target(
      kind, ns_for(kind, ns, obj), with_name ? name : NULL, sub, &o, false);
  cleanup_free char *body = kube_object_to_json(obj, KUBE_JSON_COMPACT);
  if (!target || !body)
    return kube_make_oom(err);
  return client_writer_send(w, method, target, "application/json", body,
                            strlen(body), CLIENT_RESULT_OBJECT, cb, arg, err);
}

KUBE_EXPORT int kube_writer_create(kube_writer_t *w, const kube_kind_t *kind,
                                   const char *ns, const kube_object_t *obj,
                                   const kube_client_write_options_t *opts,
                                   kube_writer_cb cb, void *arg,
                                   kube_error_t *err) {
  return write_object(w, "POST", kind, ns, obj, false, NULL, opts, cb, arg,
                      err);
}

KUBE_EXPORT int kube_writer_update(kube_writer_t *w, const kube_kind_t *kind,
                                   const char *ns, const kube_object_t *obj,
                                   const kube_client_write_options_t *opts,
                                   kube_writer_cb cb, void *arg,
                                   kube_error_t *err) {
  return write_object(w, "PUT", kind, ns, obj, true, NULL, opts, cb, arg, err);
}

KUBE_EXPORT int
kube_writer_update_status(kube_writer_t *w, const kube_kind_t *kind,
                          const char *ns, const kube_object_t *obj,
                          const kube_client_write_options_t *opts,
                          kube_writer_cb cb, void *arg, kube_error_t *err) {
  return write_object(w, "PUT", kind, ns, obj, true, "status", opts, cb, arg,
                      err);
}

int client_writer_patch(kube_writer_t *w, const kube_kind_t *kind,
                        const char *ns, const char *name, const char *sub,
                        kube_patch_type_t type, const char *patch,
                        const kube_client_write_options_t *opts,
                        enum client_result result, kube_writer_cb cb,
                        void *arg, kube_error_t *err) {
  if (!kind || !name || !*name || !patch)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a patch needs a kind, a name and a patch");
  kube_client_write_options_t o;
  client_write_options_copy(&o, opts);
  if (type == KUBE_PATCH_APPLY && !o.field_manager)
    o.field_manager = "kube";
  cleanup_free char *target =
      write_target(kind, ns_for(kind, ns, NULL), name, sub, &o,
                   type == KUBE_PATCH_APPLY && o.force);
  if (!target)
    return kube_make_oom(err);
  return client_writer_send(w, "PATCH", target,
                            kube_patch_type_content_type(type), patch,
                            strlen(patch), result, cb, arg, err);
}

KUBE_EXPORT int
kube_writer_patch(kube_writer_t *w, const kube_kind_t *kind, const char *ns,
                  const char *name, const char *sub, kube_patch_type_t type,
                  const char *patch, const kube_client_write_options_t *opts,
                  kube_writer_cb cb, void *arg, kube_error_t *err) {
  return client_writer_patch(w, kind, ns, name, sub, type, patch, opts,
                             CLIENT_RESULT_OBJECT, cb, arg, err);
}

KUBE_EXPORT int kube_writer_delete(kube_writer_t *w, const kube_kind_t *kind,
                                   const char *ns, const char *name,
                                   const kube_client_write_options_t *opts,
                                   kube_writer_cb cb, void *arg,
                                   kube_error_t *err) {
  if (!kind || !name || !*name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a delete needs a kind and a name");
  kube_client_write_options_t o;
  client_write_options_copy(&o, opts);
  cleanup_free char *target =
      write_target(kind, ns_for(kind, ns, NULL), name, NULL, &o, false);
  /* fieldManager means nothing to a delete: only dryRun goes in the query
   * (write_target adds fieldManager only when set). */
  cleanup_free char *body = client_delete_options_json(&o);
  if (!target || !body)
    return kube_make_oom(err);
  return client_writer_send(w, "DELETE", target, "application/json", body,
                            strlen(body), CLIENT_RESULT_OBJECT, cb, arg, err);
}

static int pod_subresource_post(kube_writer_t *w, const char *ns,
                                const char *name, const char *sub,
                                const char *body, size_t len,
                                const kube_client_write_options_t *o,
                                kube_writer_cb cb, void *arg,
                                kube_error_t *err) {
  /* One binding per scheduled pod: the path in one snprintf when no query
   * is needed. */
  char path[768];
  cleanup_free char *target = NULL;
  if (!o->dry_run && !o->field_manager) {
    int n = snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/%s", ns,
                     name, sub);
    if (n < 0 || (size_t)n >= sizeof path)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "pod name too long");
  } else {
    const kube_kind_t *pods = kube_kind_by_resource("", "v1", "pods");
    if (!pods)
      return kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no pods kind");
    target = write_target(pods, ns, name, sub, o, false);
    if (!target)
      return kube_make_oom(err);
  }
  /* The reply is a Status saying Success: not worth parsing. */
  return client_writer_send(w, "POST", target ? target : path,
                            "application/json", body, len, CLIENT_RESULT_NONE,
                            cb, arg, err);
}

KUBE_EXPORT int kube_writer_bind(kube_writer_t *w, const char *ns,
                                 const char *name, const char *uid,
                                 const char *node,
                                 const kube_client_write_options_t *opts,
                                 kube_writer_cb cb, void *arg,
                                 kube_error_t *err) {
  if (!name || !*name || !node || !*node)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a binding needs a pod and a node");
  if (!ns || !*ns)
    ns = "default";
  kube_client_write_options_t o;
  client_write_options_copy(&o, opts);
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "{\"apiVersion\":\"v1\",\"kind\":\"Binding\","
                          "\"metadata\":{\"name\":");
  kube_strbuf_append_json_string(&sb, name);
  kube_strbuf_append(&sb, ",\"namespace\":");
  kube_strbuf_append_json_string(&sb, ns);
  if (uid && *uid) {
    kube_strbuf_append(&sb, ",\"uid\":");
    kube_strbuf_append_json_string(&sb, uid);
  }
  kube_strbuf_append(&sb, "},\"target\":{\"apiVersion\":\"v1\",\"kind\":"
                          "\"Node\",\"name\":");
  kube_strbuf_append_json_string(&sb, node);
  kube_strbuf_append(&sb, "}}");
  if (sb.oom)
    return kube_make_oom(err);
  return pod_subresource_post(w, ns, name, "binding", sb.data, sb.len, &o, cb,
                              arg, err);
}

KUBE_EXPORT int kube_writer_evict(kube_writer_t *w, const char *ns,
                                  const char *name,
                                  const kube_client_write_options_t *opts,
                                  kube_writer_cb cb, void *arg,
                                  kube_error_t *err) {
  if (!name || !*name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "an eviction needs a pod");
  if (!ns || !*ns)
    ns = "default";
  kube_client_write_options_t o;
  client_write_options_copy(&o, opts);
  cleanup_free char *del = client_delete_options_json(&o);
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\","
                          "\"metadata\":{\"name\":");
  kube_strbuf_append_json_string(&sb, name);
  kube_strbuf_append(&sb, ",\"namespace\":");
  kube_strbuf_append_json_string(&sb, ns);
  kube_strbuf_printf(&sb, "},\"deleteOptions\":%s}", del ? del : "{}");
  if (sb.oom || !del)
    return kube_make_oom(err);
  return pod_subresource_post(w, ns, name, "eviction", sb.data, sb.len, &o, cb,
                              arg, err);
}
