/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client object and the raw request API: configuration from a
 * kubeconfig plus overrides, one keep-alive connection, whole-body and
 * line-streamed responses, Status bodies turned into kube_error_t.
 */
#include <json-c/json.h>

#include "client/internal.h"
#include "core/util.h"
#include "kube-config.h"

KUBE_EXPORT void kube_client_free(kube_client_t *c) {
  if (!c)
    return;
  client_conn_close(&c->conn);
  client_tp_free(c->tp);
  client_server_url_clear(&c->url);
  free(c->server);
  free(c->namespace_);
  free(c->token);
  free(c->basic_auth);
  free(c->user_agent);
  free(c->tls_server_name);
  if (c->ssl_ctx)
    SSL_CTX_free(c->ssl_ctx);
  free(c);
}

static int set_str(char **dst, const char *s) {
  free(*dst);
  *dst = s ? strdup(s) : NULL;
  return s && !*dst ? -1 : 0;
}

KUBE_EXPORT kube_client_t *kube_client_new(const kube_client_options_t *opts,
                                           kube_error_t *err) {
  kube_client_options_t o = {0};
  core_opts_copy(&o, opts);
  kube_kubeconfig_t *kc = NULL;
  cleanup_error kube_error_t kerr = KUBE_ERROR_INIT;
  bool own_identity = o.client_certificate && !o.kubeconfig;
  if (!own_identity)
    kc = kube_kubeconfig_load(o.kubeconfig, o.context, &kerr);
  if (!kc && !own_identity) {
    /* Only a missing default file falls back to the kubed socket; an
     * explicit file or context that does not exist is an error. */
    bool missing_default = !o.kubeconfig && kerr.errnum == ENOENT;
    bool server_given = o.server && *o.server && !o.context &&
                        kerr.reason == KUBE_REASON_NOT_FOUND &&
                        kerr.errnum != ENOENT;
    if (!missing_default && !server_given) {
      kube_error_move(err, &kerr);
      return NULL;
    }
  }
  kube_client_t *c = calloc(1, sizeof *c);
  if (!c) {
    kube_kubeconfig_free(kc);
    return kube_make_oom(err), NULL;
  }
  client_conn_init(&c->conn);
  c->timeout_ms = o.timeout_ms;
  const char *server = o.server && *o.server ? o.server
                       : kc                  ? kc->server
                                             : "unix:" KUBE_DEFAULT_SOCKET;
  const char *ns = o.namespace_ && *o.namespace_ ? o.namespace_
                   : kc && kc->namespace_        ? kc->namespace_
                                                 : "default";
  const char *token = o.token && *o.token ? o.token : kc ? kc->token : NULL;
  bool ok = set_str(&c->server, server) == 0 &&
            set_str(&c->namespace_, ns) == 0 && set_str(&c->token, token) == 0;
  if (ok && !token && kc && kc->username) {
    cleanup_free char *up = NULL;
    if (asprintf(&up, "%s:%s", kc->username, kc->password ? kc->password : "") <
        0)
      ok = false;
    else if (!(c->basic_auth = kube_base64_encode(up, strlen(up))))
      ok = false;
  }
  if (ok && o.user_agent)
    ok = set_str(&c->user_agent, o.user_agent) == 0;
  else if (ok)
    ok = asprintf(&c->user_agent, "kube/v%s (linux) libkube", KUBE_VERSION) >=
             0 ||
         (c->user_agent = NULL, false);
  if (ok && kc && kc->tls_server_name)
    ok = set_str(&c->tls_server_name, kc->tls_server_name) == 0;
  if (!ok) {
    kube_make_oom(err);
    goto fail;
  }
  if (client_server_url_parse(c->server, &c->url, err) < 0)
    goto fail;
  if (c->url.tls) {
    kube_kubeconfig_t extra = {0};
    const kube_kubeconfig_t *tc = kc;
    if (kc)
      extra = *kc;
    if (o.certificate_authority) {
      /* An explicit CA replaces the kubeconfig's. */
      extra.certificate_authority = (char *)o.certificate_authority;
      extra.certificate_authority_data = NULL;
      tc = &extra;
    }
    if (o.client_certificate || o.client_key) {
      /* So does an explicit client certificate. */
      extra.client_certificate = (char *)o.client_certificate;
      extra.client_certificate_data = NULL;
      extra.client_key = (char *)o.client_key;
      extra.client_key_data = NULL;
      tc = &extra;
    }
    bool insecure =
        o.insecure_skip_tls_verify ||
        (kc && kc->insecure_skip_tls_verify && !o.certificate_authority);
    if (client_tls_context_setup(c, tc, insecure, err) < 0)
      goto fail;
  }
  kube_kubeconfig_free(kc);
  return c;
fail:
  kube_kubeconfig_free(kc);
  kube_client_free(c);
  return NULL;
}

KUBE_EXPORT kube_client_t *kube_client_new_from_kubeconfig(const char *path,
                                                           const char *context,
                                                           kube_error_t *err) {
  kube_client_options_t o = {
      .struct_size = sizeof o, .kubeconfig = path, .context = context};
  return kube_client_new(&o, err);
}

KUBE_EXPORT const char *kube_client_server(const kube_client_t *c) {
  return c->server;
}

KUBE_EXPORT const char *kube_client_namespace(const kube_client_t *c) {
  return c->namespace_;
}

KUBE_EXPORT int kube_client_last_status(const kube_client_t *c) {
  return __atomic_load_n(&c->last_status, __ATOMIC_RELAXED);
}

void client_set_last_status(kube_client_t *c, int status) {
  __atomic_store_n(&c->last_status, status, __ATOMIC_RELAXED);
}

KUBE_EXPORT void kube_client_response_clear(kube_client_response_t *resp) {
  if (!resp)
    return;
  free(resp->content_type);
  free(resp->body);
  memset(resp, 0, sizeof *resp);
}

static int sink_strbuf(void *ud, const char *p, size_t n) {
  kube_strbuf_t *sb = ud;
  kube_strbuf_append_len(sb, p, n);
  return sb->oom ? -1 : 0;
}

/* Send on the keep-alive connection and read the head; reconnect once
 * when a reused connection turns out to be closed by the server. */
static int exchange_head(kube_client_t *c, struct conn *cn,
                         const kube_client_request_t *req, bool use_timeout,
                         struct http_response_head *h, kube_error_t *err) {
  for (int attempt = 0;; attempt++) {
    bool reused = cn->fd >= 0;
    if (!reused && client_conn_open(c, cn, use_timeout, err) < 0)
      return -1;
    cleanup_error kube_error_t e = KUBE_ERROR_INIT;
    bool nothing = false;
    if (client_http_send(c, cn, req, &e) == 0 &&
        client_http_read_head(cn, h, false, &nothing, &e) == 0)
      return 0;
    client_conn_close(cn);
    if (reused && attempt == 0 &&
        (nothing || e.errnum == EPIPE || e.errnum == ECONNRESET))
      continue;
    kube_error_move(err, &e);
    return -1;
  }
}

KUBE_EXPORT int kube_client_request(kube_client_t *c,
                                    const kube_client_request_t *req,
                                    kube_client_response_t *resp,
                                    kube_error_t *err) {
  if (c->tp)
    return client_tp_request(c, req, resp, err);
  memset(resp, 0, sizeof *resp);
  client_set_last_status(c, 0);
  struct http_response_head h;
  if (exchange_head(c, &c->conn, req, true, &h, err) < 0)
    return -1;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  struct body_sink sink = {sink_strbuf, &sb};
  bool head_only = req->method && streq(req->method, "HEAD");
  if (!head_only && client_http_read_body(&c->conn, &h, &sink, err) < 0) {
    client_conn_close(&c->conn);
    client_http_response_head_clear(&h);
    kube_strbuf_clear(&sb);
    return -1;
  }
  if (h.close)
    client_conn_close(&c->conn);
  kube_strbuf_append(&sb, "");
  resp->status = h.status;
  resp->content_type = steal_pointer(&h.content_type);
  resp->body_len = sb.len;
  resp->body = kube_strbuf_steal(&sb);
  client_http_response_head_clear(&h);
  if (!resp->body) {
    kube_client_response_clear(resp);
    return kube_make_oom(err);
  }
  client_set_last_status(c, resp->status);
  log_debug("client: %s %s%s%s%s -> %d (%zu bytes)",
            req->method ? req->method : "GET", c->server,
            req->path ? req->path : "/", req->query ? "?" : "",
            req->query ? req->query : "", resp->status, resp->body_len);
  return 0;
}

/* Fill err from a Status body; false when the body is not a Status. */
static bool error_from_status(const char *body, size_t len, int code,
                              kube_error_t *err) {
  if (!body || len == 0)
    return false;
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return false;
  json_object *st = json_tokener_parse_ex(tok, body, (int)len);
  json_tokener_free(tok);
  json_object *kind, *v;
  if (!st || !json_object_is_type(st, json_type_object) ||
      !json_object_object_get_ex(st, "kind", &kind) ||
      !streq(json_object_get_string(kind), "Status")) {
    json_object_put(st);
    return false;
  }
  kube_reason_t reason = KUBE_REASON_UNKNOWN;
  if (json_object_object_get_ex(st, "reason", &v))
    reason = kube_reason_from_string(json_object_get_string(v));
  if (reason == KUBE_REASON_UNKNOWN)
    reason = kube_reason_from_http_code(code);
  const char *msg = "";
  if (json_object_object_get_ex(st, "message", &v))
    msg = json_object_get_string(v);
  kube_error_set(err, reason, 0, "%s", msg);
  json_object *details;
  if (err && json_object_object_get_ex(st, "details", &details)) {
    json_object *dk = NULL, *dn = NULL, *causes;
    json_object_object_get_ex(details, "kind", &dk);
    json_object_object_get_ex(details, "name", &dn);
    if (dk || dn)
      kube_error_set_details(err, dk ? json_object_get_string(dk) : NULL,
                             dn ? json_object_get_string(dn) : NULL);
    if (json_object_object_get_ex(details, "causes", &causes) &&
        json_object_is_type(causes, json_type_array))
      for (size_t i = 0; i < json_object_array_length(causes); i++) {
        json_object *cz = json_object_array_get_idx(causes, i), *f, *t, *m;
        kube_error_add_cause(err,
                             json_object_object_get_ex(cz, "field", &f)
                                 ? json_object_get_string(f)
                                 : "",
                             json_object_object_get_ex(cz, "reason", &t)
                                 ? json_object_get_string(t)
                                 : "",
                             json_object_object_get_ex(cz, "message", &m)
                                 ? json_object_get_string(m)
                                 : "");
      }
  }
  json_object_put(st);
  return true;
}

/* The messages kubectl shows when an error response carries no Status. */
static int error_from_code(int code, const char *body, kube_error_t *err) {
  kube_reason_t reason = kube_reason_from_http_code(code);
  const char *msg;
  switch (code) {
  case 401:
    msg = "Unauthorized";
    break;
  case 403:
    msg = "Forbidden";
    break;
  case 404:
    msg = "the server could not find the requested resource";
    break;
  case 405:
    msg = "the server does not allow this method on the requested resource";
    break;
  case 409:
    msg = "the server reported a conflict";
    break;
  case 415:
    msg = "the server responded with the status code 415 but did not return "
          "more information";
    break;
  case 422:
    msg = "the server rejected our request due to an error in our request";
    break;
  default:
    if (body && *body && strlen(body) < 512)
      return kube_error_set(err, reason, 0,
                            "an error on the server (\"%s\") has prevented "
                            "the request from succeeding",
                            body);
    return kube_error_set(err, reason, 0,
                          "an error on the server (unknown, HTTP %d) has "
                          "prevented the request from succeeding",
                          code);
  }
  return kube_error_set(err, reason, 0, "%s", msg);
}

KUBE_EXPORT int kube_client_check(const kube_client_response_t *resp,
                                  kube_error_t *err) {
  if (resp->status >= 200 && resp->status < 300)
    return 0;
  if (error_from_status(resp->body, resp->body_len, resp->status, err))
    return -1;
  return error_from_code(resp->status, resp->body, err);
}

int client_lines_feed(void *ud, const char *p, size_t n) {
  struct line_splitter *ls = ud;
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    if (!nl) {
      kube_strbuf_append_len(&ls->partial, p, n);
      return ls->partial.oom ? -1 : 0;
    }
    kube_strbuf_append_len(&ls->partial, p, (size_t)(nl - p));
    if (ls->partial.oom)
      return -1;
    size_t len = ls->partial.len;
    if (len > 0 && ls->partial.data[len - 1] == '\r')
      ls->partial.data[--len] = '\0';
    if (len > 0 && ls->fn(ls->partial.data, len, ls->ud) != 0)
      return 1;
    kube_strbuf_reset(&ls->partial);
    n -= (size_t)(nl + 1 - p);
    p = nl + 1;
  }
  return 0;
}

/* Send on a dedicated connection; a 2xx body goes to `sink` as it
 * arrives, any other answer becomes the error kube_client_check makes.  0
 * when the server ended the body, 1 when the sink stopped, -1 with err. */
static int stream_body(kube_client_t *c, const kube_client_request_t *req,
                       const struct body_sink *sink, kube_error_t *err) {
  struct conn cn;
  client_conn_init(&cn);
  client_set_last_status(c, 0);
  struct http_response_head h;
  if (exchange_head(c, &cn, req, false, &h, err) < 0)
    return -1;
  client_set_last_status(c, h.status);
  log_debug("client: %s %s%s%s%s -> %d (streaming)",
            req->method ? req->method : "GET", c->server,
            req->path ? req->path : "/", req->query ? "?" : "",
            req->query ? req->query : "", h.status);
  int r;
  if (h.status < 200 || h.status >= 300) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    struct body_sink errsink = {sink_strbuf, &sb};
    r = client_http_read_body(&cn, &h, &errsink, err);
    if (r >= 0) {
      kube_strbuf_append(&sb, "");
      kube_client_response_t resp = {
          .status = h.status, .body = sb.data, .body_len = sb.len};
      r = kube_client_check(&resp, err);
    }
    kube_strbuf_clear(&sb);
  } else {
    r = client_http_read_body(&cn, &h, sink, err);
  }
  client_http_response_head_clear(&h);
  client_conn_close(&cn);
  return r < 0 ? -1 : r;
}

KUBE_EXPORT int kube_client_stream(kube_client_t *c,
                                   const kube_client_request_t *req,
                                   kube_client_line_fn fn, void *userdata,
                                   kube_error_t *err) {
  if (c->tp)
    return client_tp_stream(c, req, fn, userdata, err);
  struct line_splitter ls = {KUBE_STRBUF_INIT, fn, userdata};
  struct body_sink sink = {client_lines_feed, &ls};
  int r = stream_body(c, req, &sink, err);
  /* A final line without a newline still counts (unless fn stopped). */
  if (r == 0 && ls.partial.len > 0)
    fn(ls.partial.data, ls.partial.len, userdata);
  kube_strbuf_clear(&ls.partial);
  return r < 0 ? -1 : 0;
}

/* ---- pods/log ---- */

static int logs_data(void *ud, const char *p, size_t n) {
  const kube_client_logs_options_t *o = ud;
  return o->output(o->arg, 1, p, n) ? 1 : 0;
}

static int logs_line(const char *line, size_t len, void *ud) {
  const kube_client_logs_options_t *o = ud;
  /* The in-process transport hands the body over by lines. */
  if (o->output(o->arg, 1, line, len))
    return 1;
  return o->output(o->arg, 1, "\n", 1);
}

KUBE_EXPORT int kube_client_logs(kube_client_t *c,
                                 const kube_client_logs_options_t *opts,
                                 kube_error_t *err) {
  kube_client_logs_options_t o = {0};
  core_opts_copy(&o, opts);
  if (!o.pod || !*o.pod || !o.output)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "logs: a pod name and an output are required");
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  char num[32];
  client_query_add(&q, "container", o.container);
  if (o.follow)
    client_query_add(&q, "follow", "true");
  if (o.limit_bytes > 0) {
    snprintf(num, sizeof num, "%lld", (long long)o.limit_bytes);
    client_query_add(&q, "limitBytes", num);
  }
  if (o.previous)
    client_query_add(&q, "previous", "true");
  if (o.since_seconds > 0) {
    snprintf(num, sizeof num, "%lld", (long long)o.since_seconds);
    client_query_add(&q, "sinceSeconds", num);
  }
  client_query_add(&q, "sinceTime", o.since_time);
  if (o.tail) {
    snprintf(num, sizeof num, "%lld", (long long)o.tail_lines);
    client_query_add(&q, "tailLines", num);
  }
  if (o.timestamps)
    client_query_add(&q, "timestamps", "true");
  cleanup_free char *query = kube_strbuf_steal(&q);
  cleanup_free char *path =
      kube_client_path(kube_kind_by_kind("v1", "Pod"),
                       o.namespace_ ? o.namespace_ : kube_client_namespace(c),
                       o.pod, "log");
  if (!query || !path)
    return kube_make_oom(err);
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "GET",
                               .path = path,
                               .query = *query ? query : NULL,
                               .accept = "*/*"};
  if (c->tp)
    return client_tp_stream(c, &req, logs_line, &o, err);
  struct body_sink sink = {logs_data, &o};
  return stream_body(c, &req, &sink, err) < 0 ? -1 : 0;
}
