/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kubelet's streaming server: the object, its sessions, runtime
 * handles for the worker threads, and what every operation shares (asking
 * the resolver, error answers, the upgrade).  The operations themselves
 * are in logs.c, stream-exec.c and stream-portforward.c.
 */
#include <event2/event.h>

#include "node/internal.h"

KUBE_EXPORT void kube_node_stream_target_clear(kube_node_stream_target_t *t) {
  if (!t)
    return;
  free(t->container_id);
  free(t->log_path);
  free(t->previous_log_path);
  free(t->netns_path);
  free(t->pod_uid);
  memset(t, 0, sizeof *t);
}

/* ---- sessions ---- */

void nd_session_link(kube_node_stream_t *s, struct nd_session *ss,
                     const struct nd_session_ops *ops) {
  ss->ops = ops;
  ss->srv = s;
  ss->prev = NULL;
  ss->next = s->sessions;
  if (s->sessions)
    s->sessions->prev = ss;
  s->sessions = ss;
  s->n_sessions++;
  ss->linked = true;
  ss->last_active_ns = kube_time_mono_ns();
}

void nd_session_unlink(struct nd_session *ss) {
  if (!ss->linked)
    return;
  kube_node_stream_t *s = ss->srv;
  if (ss->prev)
    ss->prev->next = ss->next;
  else
    s->sessions = ss->next;
  if (ss->next)
    ss->next->prev = ss->prev;
  ss->prev = ss->next = NULL;
  ss->linked = false;
  s->n_sessions--;
}

void nd_session_touch(struct nd_session *ss) {
  ss->last_active_ns = kube_time_mono_ns();
}

static void idle_sweep(void *arg) {
  kube_node_stream_t *s = arg;
  int64_t now = kube_time_mono_ns(), limit = s->idle_timeout_ms * 1000000;
  struct nd_session *ss = s->sessions;
  while (ss) {
    struct nd_session *next = ss->next;
    if (ss->ops->idle_timeout && now - ss->last_active_ns > limit)
      ss->ops->close(ss, "idle timeout");
    ss = next;
  }
}

KUBE_EXPORT size_t kube_node_stream_sessions(const kube_node_stream_t *s) {
  return s ? s->n_sessions : 0;
}

/* ---- runtime handles ---- */

kube_runtime_t *nd_runtime_get(kube_node_stream_t *s, kube_error_t *err) {
  kube_runtime_t *rt = NULL;
  pthread_mutex_lock(&s->rt_lock);
  if (s->n_rt_free)
    rt = s->rt_free[--s->n_rt_free];
  pthread_mutex_unlock(&s->rt_lock);
  return rt ? rt : kube_runtime_new(s->runtime_root, err);
}

void nd_runtime_put(kube_node_stream_t *s, kube_runtime_t *rt) {
  if (!rt)
    return;
  pthread_mutex_lock(&s->rt_lock);
  if (s->n_rt_free == s->cap_rt_free) {
    size_t cap = s->cap_rt_free ? s->cap_rt_free * 2 : 4;
    kube_runtime_t **v = realloc(s->rt_free, cap * sizeof *v);
    if (!v) {
      pthread_mutex_unlock(&s->rt_lock);
      kube_runtime_free(rt);
      return;
    }
    s->rt_free = v;
    s->cap_rt_free = cap;
  }
  s->rt_free[s->n_rt_free++] = rt;
  pthread_mutex_unlock(&s->rt_lock);
}

/* ---- life cycle ---- */

KUBE_EXPORT kube_node_stream_t *
kube_node_stream_new(const kube_node_stream_options_t *opts,
                     kube_error_t *err) {
  kube_node_stream_options_t o = {0};
  if (opts)
    memcpy(&o, opts,
           opts->struct_size && opts->struct_size < sizeof o ? opts->struct_size
                                                             : sizeof o);
  if (!o.loop || !o.resolve) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "a streaming server needs a loop and a resolver");
    return NULL;
  }
  kube_node_stream_t *s = calloc(1, sizeof *s);
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  pthread_mutex_init(&s->rt_lock, NULL);
  s->loop = o.loop;
  s->port = -1;
  s->resolve = o.resolve;
  s->resolve_arg = o.resolve_arg;
  s->idle_timeout_ms =
      o.idle_timeout_ms == 0 ? 4 * 3600 * 1000LL : o.idle_timeout_ms;
  s->follow_check_ms = o.follow_check_ms > 0 ? o.follow_check_ms : 1000;
  if (o.runtime_root && !(s->runtime_root = strdup(o.runtime_root))) {
    kube_make_oom(err);
    goto fail;
  }
  if (!(s->workers = kube_workers_new(s->loop, o.threads ? o.threads : 2, err)))
    goto fail;
  if (s->idle_timeout_ms > 0) {
    if (!(s->idle_timer = kube_timer_new(s->loop, idle_sweep, s, err)))
      goto fail;
    int64_t period = s->idle_timeout_ms / 2;
    kube_timer_arm_periodic(s->idle_timer, period < 1       ? 1
                                           : period > 60000 ? 60000
                                                            : period);
  }
  return s;
fail:
  kube_node_stream_free(s);
  return NULL;
}

KUBE_EXPORT void kube_node_stream_free(kube_node_stream_t *s) {
  if (!s)
    return;
  s->freeing = true;
  kube_timer_free(s->idle_timer);
  s->idle_timer = NULL;
  /* Listeners first: no new request while the sessions go. */
  kube_http_server_free(s->http);
  s->http = NULL;
  while (s->sessions) {
    struct nd_session *ss = s->sessions;
    /* Off the list before close, which may free it; a session waiting for
     * its worker job would otherwise stay linked until the job is back,
     * and the loop would not end. */
    nd_session_unlink(ss);
    ss->ops->close(ss, "the streaming server is shutting down");
  }
  /* Runs the completions still owed: they see `freeing` and release. */
  kube_workers_free(s->workers);
  nd_reapers_free(s);
  for (size_t i = 0; i < s->n_rt_free; i++)
    kube_runtime_free(s->rt_free[i]);
  free(s->rt_free);
  pthread_mutex_destroy(&s->rt_lock);
  free(s->runtime_root);
  free(s->client_ca);
  free(s);
}

/* ---- shared by the operations ---- */

int nd_resolve(kube_node_stream_t *s, const kube_node_stream_query_t *q,
               kube_node_stream_target_t *t, kube_error_t *err) {
  memset(t, 0, sizeof *t);
  kube_error_t e = KUBE_ERROR_INIT;
  if (s->resolve(s->resolve_arg, q, t, &e) == 0)
    return 0;
  kube_node_stream_target_clear(t);
  if (!e.message)
    kube_error_set(&e, KUBE_REASON_NOT_FOUND, 0, "pod does not exist");
  kube_error_move(err, &e);
  return -1;
}

void nd_reply_text_error(kube_http_request_t *req, const kube_error_t *err) {
  const char *msg = err && err->message ? err->message : "internal error";
  int code = err ? kube_reason_http_code(err->reason) : 500;
  kube_http_reply(req, code, "text/plain; charset=utf-8", msg, strlen(msg));
}

void nd_reply_status_error(kube_http_request_t *req, const kube_error_t *err) {
  kube_reason_t reason = err ? err->reason : KUBE_REASON_INTERNAL;
  if (reason == KUBE_REASON_UNKNOWN)
    reason = KUBE_REASON_INTERNAL;
  int code = kube_reason_http_code(reason);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                          "\"metadata\":{},\"status\":\"Failure\","
                          "\"message\":");
  kube_strbuf_append_json_string(&sb, err && err->message ? err->message
                                                          : "internal error");
  kube_strbuf_append(&sb, ",\"reason\":");
  kube_strbuf_append_json_string(&sb, kube_reason_string(reason));
  if (err && (err->details_name || err->details_kind || err->n_causes)) {
    kube_strbuf_append(&sb, ",\"details\":{");
    bool first = true;
    if (err->details_name) {
      kube_strbuf_append(&sb, "\"name\":");
      kube_strbuf_append_json_string(&sb, err->details_name);
      first = false;
    }
    if (err->details_kind) {
      kube_strbuf_append(&sb, first ? "\"kind\":" : ",\"kind\":");
      kube_strbuf_append_json_string(&sb, err->details_kind);
      first = false;
    }
    if (err->n_causes) {
      kube_strbuf_append(&sb, first ? "\"causes\":[" : ",\"causes\":[");
      for (size_t i = 0; i < err->n_causes; i++) {
        kube_strbuf_append(&sb, i ? ",{\"reason\":" : "{\"reason\":");
        kube_strbuf_append_json_string(&sb, err->causes[i].type);
        kube_strbuf_append(&sb, ",\"message\":");
        kube_strbuf_append_json_string(&sb, err->causes[i].message);
        kube_strbuf_append(&sb, ",\"field\":");
        kube_strbuf_append_json_string(&sb, err->causes[i].field);
        kube_strbuf_append_char(&sb, '}');
      }
      kube_strbuf_append_char(&sb, ']');
    }
    kube_strbuf_append_char(&sb, '}');
  }
  kube_strbuf_printf(&sb, ",\"code\":%d}", code);
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    kube_http_reply_error(req, 500, "out of memory");
    return;
  }
  size_t len = sb.len;
  kube_http_reply_take(req, code, "application/json", kube_strbuf_steal(&sb),
                       len);
}

void nd_strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

char **nd_query_values(kube_http_request_t *req, const char *key, size_t *n) {
  size_t cnt = 0;
  const char *k, *v;
  for (size_t i = 0; kube_http_request_query_param_at(req, i, &k, &v); i++)
    cnt += streq(k, key);
  char **out = calloc(cnt + 1, sizeof *out);
  if (!out)
    return NULL;
  cnt = 0;
  for (size_t i = 0; kube_http_request_query_param_at(req, i, &k, &v); i++)
    if (streq(k, key) && !(out[cnt++] = strdup(v))) {
      nd_strv_free(out);
      return NULL;
    }
  if (n)
    *n = cnt;
  return out;
}

/* Every line of header `name`, joined with ", " (stored in sb). */
static const char *joined_header(kube_http_request_t *req, const char *name,
                                 kube_strbuf_t *sb) {
  const char *n, *v;
  for (size_t i = 0; kube_http_request_header_at(req, i, &n, &v); i++) {
    if (strcasecmp(n, name) != 0)
      continue;
    if (sb->len)
      kube_strbuf_append(sb, ", ");
    kube_strbuf_append(sb, v);
  }
  return sb->len && !sb->oom ? sb->data : NULL;
}

kube_http_conn_t *nd_upgrade(kube_http_request_t *req, kube_stream_kind_t kind,
                             kube_stream_upgrade_t *up, kube_error_t *err) {
  kube_strbuf_t h[3] = {KUBE_STRBUF_INIT, KUBE_STRBUF_INIT, KUBE_STRBUF_INIT};
  kube_stream_request_t sr = {
      .method = kube_http_request_method(req),
      .upgrade = kube_http_request_header(req, "Upgrade"),
      .connection = joined_header(req, "Connection", &h[0]),
      .ws_key = kube_http_request_header(req, "Sec-WebSocket-Key"),
      .ws_version = kube_http_request_header(req, "Sec-WebSocket-Version"),
      .ws_protocol = joined_header(req, "Sec-WebSocket-Protocol", &h[1]),
      .stream_protocol = joined_header(req, "X-Stream-Protocol-Version", &h[2]),
  };
  int rc = kube_stream_upgrade_negotiate(kind, &sr, up, err);
  for (int i = 0; i < 3; i++)
    kube_strbuf_clear(&h[i]);
  if (rc < 0) {
    nd_reply_text_error(req, err);
    return NULL;
  }
  /* One line per session says what was negotiated (operators and the
   * tests read it: kubectl silently falls back from WebSocket to SPDY). */
  log_info("node: %s %s: %s %s",
           kind == KUBE_STREAM_EXEC ? "exec" : "portforward",
           kube_http_request_path(req),
           up->transport == KUBE_STREAM_WEBSOCKET ? "websocket"
           : up->transport == KUBE_STREAM_SPDY    ? "spdy"
                                                  : "spdy-over-websocket",
           up->protocol[0] ? up->protocol : "(none)");
  for (size_t i = 0; i < up->n_headers; i++)
    if (kube_http_response_add_header(req, up->headers[i].name,
                                      up->headers[i].value, err) < 0) {
      kube_http_reply_error(req, 500, err->message);
      return NULL;
    }
  return kube_http_upgrade(req, err);
}

/* ---- entry point ---- */

static const char *req_param(void *arg, const char *key) {
  return kube_http_request_query_param(arg, key);
}

KUBE_EXPORT void kube_node_stream_serve_pod(kube_http_request_t *req,
                                            const char *sub, const char *ns,
                                            const char *pod,
                                            const char *container,
                                            void *stream) {
  kube_node_stream_t *s = stream;
  if (!container || !*container)
    container = req_param(req, "container");
  if (!container || !*container)
    container = NULL;
  bool pf = sub && streq(sub, "portforward");
  if (!s || !sub || !ns || !pod || s->freeing) {
    kube_http_reply_error(req, 503, "the node's streaming server is gone");
    return;
  }
  if (!pf && !container) {
    kube_error_t e = KUBE_ERROR_INIT;
    kube_error_set(&e, KUBE_REASON_BAD_REQUEST, 0,
                   "a container name must be specified for pod %s", pod);
    if (streq(sub, "log"))
      nd_reply_status_error(req, &e);
    else
      nd_reply_text_error(req, &e);
    kube_error_clear(&e);
    return;
  }
  if (streq(sub, "log"))
    nd_serve_logs(s, req, ns, pod, NULL, container);
  else if (streq(sub, "exec") || streq(sub, "attach"))
    nd_serve_exec(s, req, ns, pod, NULL, container, streq(sub, "attach"));
  else if (pf)
    nd_serve_portforward(s, req, ns, pod, NULL);
  else
    kube_http_reply_error(req, 404,
                          "the server could not find the requested "
                          "resource");
}
