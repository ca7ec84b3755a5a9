/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard as a server component: the web UI's files (embedded at
 * build time from src/dashboard/ui/) at /ui/ on the API server's
 * listeners, and the one-time login codes `kube dashboard` hands out.
 *
 * The files are public (a browser fetches them before it has a token);
 * the UI then calls the normal REST API with `Authorization: Bearer`, so
 * authentication and RBAC apply to everything it shows or changes.  The
 * token lives in the tab's sessionStorage, never in a cookie (no CSRF)
 * and never in a URL.  Every /ui/ response carries a strict
 * Content-Security-Policy: scripts and styles from /ui/ only, no inline
 * script, requests to this origin only, no framing.
 *
 * Login codes: POST /ui/login/codes (authenticated) answers a random
 * single-use code, valid CODE_TTL_MS, bound to the bearer token the
 * request came with (a system:masters user without one, the unix socket's,
 * gets the admin token).  The page opened at /ui/#code=CODE POSTs it to
 * /ui/login/exchange (JSON body, so no HTML form can) and gets the token;
 * the code is gone after one try, right or wrong.  The fragment never
 * reaches a server or a log, and the page removes it from the address bar.
 */
#include <sys/random.h>
#include <time.h>

#include <json-c/json.h>

#include "server/assets.h"
#include "server/internal.h"

#define CODE_TTL_MS 60000
#define MAX_CODES 16
#define CODE_BYTES 32

/* No inline script or style, nothing from elsewhere, no framing. */
#define CSP                                                                    \
  "default-src 'none'; script-src 'self'; style-src 'self'; "                  \
  "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "                \
  "form-action 'none'; frame-ancestors 'none'"

struct login_code {
  char code[CODE_BYTES * 2 + 1]; /* hex; "" when the slot is free */
  char *token;
  int64_t expires_ms;
};

struct dashboard {
  kube_server_t *srv;
  struct login_code codes[MAX_CODES];
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void code_clear(struct login_code *c) {
  if (c->token) {
    explicit_bzero(c->token, strlen(c->token));
    free(c->token);
  }
  memset(c, 0, sizeof *c);
}

/* Compares all of both strings whatever differs first. */
static bool same_secret(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char d = la != lb;
  for (size_t i = 0; i < la && i < lb; i++)
    d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

static void add_security_headers(kube_http_request_t *req, bool cache) {
  kube_http_response_add_header(req, "Content-Security-Policy", CSP, NULL);
  kube_http_response_add_header(req, "X-Content-Type-Options", "nosniff", NULL);
  kube_http_response_add_header(req, "X-Frame-Options", "DENY", NULL);
  kube_http_response_add_header(req, "Referrer-Policy", "no-referrer", NULL);
  kube_http_response_add_header(req, "Cross-Origin-Opener-Policy",
                                "same-origin", NULL);
  kube_http_response_add_header(req, "Cache-Control",
                                cache ? "no-cache" : "no-store", NULL);
}

static void reply_status(kube_http_request_t *req, int code, const char *reason,
                         const char *message) {
  add_security_headers(req, false);
  srv_reply_status(req, code, reason, message);
}

static void reply_json(kube_http_request_t *req, int code, json_object *o) {
  add_security_headers(req, false);
  const char *s = json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  kube_http_reply(req, code, "application/json", s, strlen(s));
  json_object_put(o);
}

static const struct srv_asset *find_asset(const char *name) {
  for (const struct srv_asset *a = srv_dashboard_assets; a->name; a++)
    if (streq(a->name, name))
      return a;
  return NULL;
}

static void serve_file(kube_http_request_t *req, const char *name) {
  const struct srv_asset *a = find_asset(*name ? name : "index.html");
  if (!a) {
    reply_status(req, 404, "NotFound", "no such file in the dashboard");
    return;
  }
  add_security_headers(req, true);
  kube_http_response_add_header(req, "ETag", a->etag, NULL);
  const char *inm = kube_http_request_header(req, "If-None-Match");
  if (inm && streq(inm, a->etag)) {
    kube_http_reply(req, 304, NULL, "", 0);
    return;
  }
  kube_http_reply(req, 200, a->content_type, a->data, a->len);
}

/* The token a code hands out: the caller's own bearer token; an admin
 * without one (unix socket, client certificate) gets the admin token.
 * Owned, or NULL with *why set. */
static char *caller_token(struct dashboard *d,
                          const kube_apiserver_handler_ctx_t *ctx,
                          const char **why) {
  const char *auth = kube_http_request_header(ctx->request, "Authorization");
  if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
    const char *t = auth + 7;
    while (*t == ' ')
      t++;
    if (*t)
      return strdup(t);
  }
  if (srv_user_is_admin(ctx->user) && srv_token(d->srv))
    return strdup(srv_token(d->srv));
  *why = srv_token(d->srv)
             ? "the dashboard signs in with a bearer token and this "
               "request had none (a client certificate cannot be handed "
               "to a browser): use a ServiceAccount token "
               "(kubectl create token NAME) on the login page"
             : "this server asks for no token: open /ui/ directly";
  return NULL;
}

static void new_code(struct dashboard *d,
                     const kube_apiserver_handler_ctx_t *ctx) {
  kube_http_request_t *req = ctx->request;
  if (!ctx->user || streq(ctx->user->name, "system:anonymous")) {
    reply_status(req, 401, "Unauthorized", "Unauthorized");
    return;
  }
  const char *why = NULL;
  char *token = caller_token(d, ctx, &why);
  if (!token) {
    reply_status(req, why ? 400 : 500, why ? "BadRequest" : "InternalError",
                 why ? why : "out of memory");
    return;
  }
  unsigned char raw[CODE_BYTES];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
    free(token);
    reply_status(req, 500, "InternalError", "no random bytes");
    return;
  }
  /* A free or expired slot, else the oldest code goes. */
  int64_t now = now_ms();
  struct login_code *slot = &d->codes[0];
  for (size_t i = 0; i < MAX_CODES; i++) {
    struct login_code *c = &d->codes[i];
    if (!c->code[0] || c->expires_ms <= now) {
      slot = c;
      break;
    }
    if (c->expires_ms < slot->expires_ms)
      slot = c;
  }
  code_clear(slot);
  for (size_t i = 0; i < CODE_BYTES; i++)
    snprintf(slot->code + 2 * i, 3, "%02x", raw[i]);
  explicit_bzero(raw, sizeof raw);
  slot->token = token;
  slot->expires_ms = now + CODE_TTL_MS;
  char path[128];
  snprintf(path, sizeof path, "/ui/#code=%s", slot->code);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "code", json_object_new_string(slot->code));
  json_object_object_add(o, "path", json_object_new_string(path));
  json_object_object_add(o, "expiresInSeconds",
                         json_object_new_int(CODE_TTL_MS / 1000));
  const char *url = kube_server_url(d->srv);
  if (url) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", url, path);
    json_object_object_add(o, "url", json_object_new_string(full));
  }
  log_info("dashboard: login code issued to %s", ctx->user->name);
  reply_json(req, 201, o);
}

static void exchange_code(struct dashboard *d, kube_http_request_t *req) {
  const char *ct = kube_http_request_header(req, "Content-Type");
  if (!ct || !str_has_prefix(ct, "application/json")) {
    reply_status(req, 415, "UnsupportedMediaType",
                 "the login exchange takes a JSON body {\"code\": ...}");
    return;
  }
  size_t len = 0;
  const char *body = kube_http_request_body(req, &len);
  json_object *o = NULL;
  if (body && len < 4096) {
    /* The body is not NUL-terminated: parse exactly len bytes. */
    json_tokener *tok = json_tokener_new();
    if (tok) {
      o = json_tokener_parse_ex(tok, body, (int)len);
      if (json_tokener_get_error(tok) != json_tokener_success && o) {
        json_object_put(o);
        o = NULL;
      }
      json_tokener_free(tok);
    }
  }
  json_object *jc = NULL;
  const char *code = o && json_object_object_get_ex(o, "code", &jc) &&
                             json_object_is_type(jc, json_type_string)
                         ? json_object_get_string(jc)
                         : NULL;
  if (!code) {
    if (o)
      json_object_put(o);
    reply_status(req, 400, "BadRequest",
                 "the login exchange takes a JSON body {\"code\": ...}");
    return;
  }
  int64_t now = now_ms();
  char *token = NULL;
  for (size_t i = 0; i < MAX_CODES; i++) {
    struct login_code *c = &d->codes[i];
    if (!c->code[0] || !same_secret(c->code, code))
      continue;
    if (c->expires_ms > now)
      token = steal_pointer(&c->token);
    code_clear(c); /* single use, also when it expired */
  }
  json_object_put(o);
  if (!token) {
    reply_status(req, 401, "Unauthorized",
                 "the login code is unknown, used or expired: run `kube "
                 "dashboard` again or sign in with a token");
    return;
  }
  json_object *r = json_object_new_object();
  json_object_object_add(r, "token", json_object_new_string(token));
  explicit_bzero(token, strlen(token));
  free(token);
  reply_json(req, 200, r);
}

static void serve(const kube_apiserver_handler_ctx_t *ctx, void *arg) {
  struct dashboard *d = arg;
  kube_http_request_t *req = ctx->request;
  const char *path = kube_http_request_path(req);
  const char *method = kube_http_request_method(req);
  bool get = streq(method, "GET") || streq(method, "HEAD");
  if (streq(path, "/ui") && get) {
    add_security_headers(req, false);
    kube_http_response_add_header(req, "Location", "/ui/", NULL);
    kube_http_reply(req, 301, NULL, "", 0);
    return;
  }
  if (!str_has_prefix(path, "/ui/")) {
    reply_status(req, 404, "NotFound",
                 "the server could not find the requested resource");
    return;
  }
  const char *rest = path + 4;
  if (streq(rest, "login/codes") || streq(rest, "login/exchange")) {
    if (!streq(method, "POST")) {
      reply_status(req, 405, "MethodNotAllowed", "use POST");
      return;
    }
    if (streq(rest, "login/codes"))
      new_code(d, ctx);
    else
      exchange_code(d, req);
    return;
  }
  if (!get) {
    reply_status(req, 405, "MethodNotAllowed",
                 "the dashboard files are read-only");
    return;
  }
  serve_file(req, rest);
}

void *srv_dashboard_new(kube_error_t *err) {
  struct dashboard *d = calloc(1, sizeof *d);
  if (!d)
    kube_make_oom(err);
  return d;
}

static int dash_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct dashboard *d = impl;
  d->srv = srv;
  kube_apiserver_t *api = kube_server_apiserver(srv);
  if (kube_apiserver_handle_public_path(api, "/ui/", serve, d, err) < 0 ||
      kube_apiserver_handle_public_path(api, "/ui", serve, d, err) < 0)
    return kube_error_wrap(err, "dashboard");
  return 0;
}

static void dash_free(void *impl) {
  struct dashboard *d = impl;
  if (!d)
    return;
  for (size_t i = 0; i < MAX_CODES; i++)
    code_clear(&d->codes[i]);
  free(d);
}

const kube_component_ops_t srv_dashboard_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "dashboard",
    .init = dash_init,
    .free = dash_free,
};
