/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Talking to a registry (Distribution API v2) with libcurl: one session per
 * endpoint and repository holds the credentials and the bearer token; each
 * request is a fresh easy handle so layer transfers can run on several
 * threads at once.  A 401 with `WWW-Authenticate: Bearer realm=...`
 * fetches a token from the realm (with basic credentials when there are
 * any) and retries once; `Basic` challenges retry with the credentials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/curl-load.h"
#include "image/registry.h"
#include "kube-config.h"

void img_reg_response_clear(img_reg_response_t *r) {
  if (!r)
    return;
  free(r->body);
  free(r->content_type);
  free(r->digest);
  free(r->location);
  free(r->www_auth);
  free(r->range);
  memset(r, 0, sizeof *r);
}

int img_reg_session_init(img_reg_session_t *ss, const img_endpoint_t *ep,
                         const img_auth_t *auth, bool insecure, bool push,
                         kube_error_t *err) {
  memset(ss, 0, sizeof *ss);
  pthread_mutex_init(&ss->mu, NULL);
  if (img_curl_load(err) < 0)
    return -1;
  ss->ep = ep;
  ss->push = push;
  ss->insecure = insecure || ep->insecure;
  ss->base = strdup(ep->base);
  if (auth && (auth->username || auth->identity_token)) {
    ss->auth.username = auth->username ? strdup(auth->username) : NULL;
    ss->auth.password = auth->password ? strdup(auth->password) : NULL;
    ss->auth.identity_token =
        auth->identity_token ? strdup(auth->identity_token) : NULL;
  }
  if (!ss->base)
    return kube_make_oom(err);
  if (insecure && str_has_prefix(ss->base, "https://")) {
    /* --tls-verify=false: plain HTTP, as skopeo and podman do for
     * registries marked insecure */
    char *b = NULL;
    if (asprintf(&b, "http://%s", ss->base + 8) < 0)
      return kube_make_oom(err);
    free(ss->base);
    ss->base = b;
  }
  return 0;
}

void img_reg_session_clear(img_reg_session_t *ss) {
  if (!ss)
    return;
  free(ss->base);
  free(ss->token);
  img_auth_clear(&ss->auth);
  pthread_mutex_destroy(&ss->mu);
  memset(ss, 0, sizeof *ss);
}

struct req_ctx {
  img_reg_response_t *resp;
  size_t max_body;
  img_reg_sink_fn sink;
  void *sink_arg;
  int sink_failed;
  const char *upload;
  size_t upload_len, upload_off;
  img_reg_source_fn source;
  void *source_arg;
  img_reg_progress_fn progress;
  void *progress_arg;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *arg) {
  struct req_ctx *c = arg;
  size_t n = sz * nm;
  /* Error bodies of a sink request are kept (small) for the message. */
  if (c->sink && c->resp->status >= 200 && c->resp->status < 300) {
    if (c->sink(c->sink_arg, p, n) < 0) {
      c->sink_failed = 1;
      return 0;
    }
    return n;
  }
  if (c->resp->body_len + n > c->max_body)
    return 0; /* CURLE_WRITE_ERROR: too large */
  char *b = realloc(c->resp->body, c->resp->body_len + n + 1);
  if (!b)
    return 0;
  memcpy(b + c->resp->body_len, p, n);
  c->resp->body = b;
  c->resp->body_len += n;
  b[c->resp->body_len] = '\0';
  return n;
}

static char *header_value(const char *line, size_t len, const char *name) {
  size_t nl = strlen(name);
  if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return NULL;
  const char *v = line + nl + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  return strndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t sz, size_t nm, void *arg) {
  struct req_ctx *c = arg;
  size_t n = sz * nm;
  img_reg_response_t *r = c->resp;
  if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
    /* a new response (redirect or 100-continue): forget the old headers */
    free(r->content_type);
    free(r->digest);
    free(r->location);
    free(r->www_auth);
    free(r->range);
    r->content_type = r->digest = r->location = r->www_auth = r->range = NULL;
    r->content_length = -1;
    int st = 0;
    if (sscanf(p, "HTTP/%*s %d", &st) == 1)
      r->status = st;
    return n;
  }
  char *v;
  if ((v = header_value(p, n, "Content-Type")))
    free(r->content_type), r->content_type = v;
  else if ((v = header_value(p, n, "Docker-Content-Digest")))
    free(r->digest), r->digest = v;
  else if ((v = header_value(p, n, "Location")))
    free(r->location), r->location = v;
  else if ((v = header_value(p, n, "WWW-Authenticate")))
    free(r->www_auth), r->www_auth = v;
  else if ((v = header_value(p, n, "Range")))
    free(r->range), r->range = v;
  else if ((v = header_value(p, n, "Content-Length"))) {
    r->content_length = strtoll(v, NULL, 10);
    free(v);
  }
  return n;
}

static size_t on_read(char *buf, size_t sz, size_t nm, void *arg) {
  struct req_ctx *c = arg;
  size_t n = sz * nm;
  if (c->source) {
    ssize_t got = c->source(c->source_arg, buf, n);
    return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
  }
  size_t left = c->upload_len - c->upload_off;
  if (n > left)
    n = left;
  memcpy(buf, c->upload + c->upload_off, n);
  c->upload_off += n;
  return n;
}

static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                   curl_off_t ultotal, curl_off_t ulnow) {
  struct req_ctx *c = arg;
  if (c->progress)
    c->progress(c->progress_arg, dltotal ? (int64_t)dlnow : (int64_t)ulnow,
                dltotal ? (int64_t)dltotal : (int64_t)ultotal);
  return 0;
}

/* Parse `Bearer realm="x",service="y",scope="z"` (or Basic ...). */
static void parse_challenge(const char *h, char **scheme, char **realm,
                            char **service, char **scope) {
  *scheme = *realm = *service = *scope = NULL;
  size_t sl = strcspn(h, " ");
  *scheme = strndup(h, sl);
  const char *p = h + sl;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    size_t kl = strcspn(p, "=");
    if (!p[kl])
      break;
    const char *k = p;
    p += kl + 1;
    char *val;
    if (*p == '"') {
      p++;
      size_t vl = strcspn(p, "\"");
      val = strndup(p, vl);
      p += vl;
      if (*p)
        p++;
    } else {
      size_t vl = strcspn(p, ",");
      val = strndup(p, vl);
      p += vl;
    }
    char **dst = NULL;
    if (kl == 5 && strncasecmp(k, "realm", 5) == 0)
      dst = realm;
    else if (kl == 7 && strncasecmp(k, "service", 7) == 0)
      dst = service;
    else if (kl == 5 && strncasecmp(k, "scope", 5) == 0)
      dst = scope;
    if (dst) {
      free(*dst);
      *dst = val;
    } else
      free(val);
  }
}

static void apply_tls(CURL *c, const img_reg_session_t *ss) {
  if (ss->insecure) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (ss->ep->ca_file)
    curl_easy_setopt(c, CURLOPT_CAINFO, ss->ep->ca_file);
  if (ss->ep->cert_file)
    curl_easy_setopt(c, CURLOPT_SSLCERT, ss->ep->cert_file);
  if (ss->ep->key_file)
    curl_easy_setopt(c, CURLOPT_SSLKEY, ss->ep->key_file);
}

static int curl_fail(CURLcode rc, const char *url, const char *errbuf,
                     kube_error_t *err) {
  kube_reason_t reason = KUBE_REASON_SERVICE_UNAVAILABLE;
  if (rc == CURLE_OPERATION_TIMEDOUT)
    reason = KUBE_REASON_TIMEOUT;
  return kube_error_set(err, reason, 0, "%s: %s", url,
                        errbuf && *errbuf ? errbuf : curl_easy_strerror(rc));
}

/* Fetch a bearer token for the challenge. */
static int fetch_token(img_reg_session_t *ss, const char *challenge,
                       kube_error_t *err) {
  char *scheme, *realm, *service, *scope;
  parse_challenge(challenge, &scheme, &realm, &service, &scope);
  int rc = -1;
  if (!realm) {
    kube_error_set(err, KUBE_REASON_UNAUTHORIZED, 0,
                   "registry %s: bearer challenge without a realm",
                   ss->ep->host);
    goto out;
  }
  CURL *c = curl_easy_init();
  if (!c) {
    kube_make_oom(err);
    goto out;
  }
  kube_strbuf_t url = KUBE_STRBUF_INIT;
  kube_strbuf_append(&url, realm);
  char sep = strchr(realm, '?') ? '&' : '?';
  if (service) {
    char *e = curl_easy_escape(c, service, 0);
    kube_strbuf_printf(&url, "%cservice=%s", sep, e ? e : "");
    curl_free(e);
    sep = '&';
  }
  /* Always ask for the scope of this repository: the challenge of /v2/
   * carries none. */
  char want[1024];
  snprintf(want, sizeof want, "repository:%s:%s", ss->ep->repo,
           ss->push ? "pull,push" : "pull");
  char *e = curl_easy_escape(
      c, scope && strstr(scope, ss->ep->repo) ? scope : want, 0);
  kube_strbuf_printf(&url, "%cscope=%s", sep, e ? e : "");
  curl_free(e);
  img_reg_response_t resp = {.content_length = -1};
  struct req_ctx ctx = {.resp = &resp, .max_body = 1 << 20};
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url.data);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "libkube/" KUBE_VERSION);
  apply_tls(c, ss);
  if (ss->auth.username) {
    curl_easy_setopt(c, CURLOPT_USERNAME, ss->auth.username);
    curl_easy_setopt(c, CURLOPT_PASSWORD,
                     ss->auth.password ? ss->auth.password : "");
  }
  CURLcode cr = curl_easy_perform(c);
  curl_easy_cleanup(c);
  if (cr != CURLE_OK) {
    curl_fail(cr, url.data, errbuf, err);
  } else if (resp.status == 401 || resp.status == 403) {
    kube_error_set(err,
                   resp.status == 401 ? KUBE_REASON_UNAUTHORIZED
                                      : KUBE_REASON_FORBIDDEN,
                   0, "registry %s: token request refused (HTTP %d)",
                   ss->ep->host, resp.status);
  } else if (resp.status != 200) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "registry %s: token request failed (HTTP %d)", ss->ep->host,
                   resp.status);
  } else {
    json_object *o = json_tokener_parse(resp.body ? resp.body : "");
    const char *t = img_json_str(o, "token");
    if (!t || !*t)
      t = img_json_str(o, "access_token");
    if (t && *t) {
      pthread_mutex_lock(&ss->mu);
      free(ss->token);
      ss->token = strdup(t);
      pthread_mutex_unlock(&ss->mu);
      rc = 0;
    } else
      kube_error_set(err, KUBE_REASON_UNAUTHORIZED, 0,
                     "registry %s: token response has no token", ss->ep->host);
    json_object_put(o);
  }
  kube_strbuf_clear(&url);
  img_reg_response_clear(&resp);
out:
  free(scheme);
  free(realm);
  free(service);
  free(scope);
  return rc;
}

int img_reg_request(img_reg_session_t *ss, const img_reg_request_t *rq,
                    img_reg_response_t *resp, kube_error_t *err) {
  memset(resp, 0, sizeof *resp);
  kube_strbuf_t url = KUBE_STRBUF_INIT;
  if (str_has_prefix(rq->path, "http://") ||
      str_has_prefix(rq->path, "https://"))
    kube_strbuf_append(&url, rq->path);
  else if (rq->path[0] == '/' &&
           strncmp(rq->path, ss->ep->v2, strlen(ss->ep->v2)) == 0)
    kube_strbuf_printf(&url, "%s%s", ss->base, rq->path);
  else
    kube_strbuf_printf(&url, "%s%s%s", ss->base, ss->ep->v2, rq->path);
  if (url.oom)
    return kube_make_oom(err);
  int rc = -1;
  bool basic_tried = false;
  for (int attempt = 0; attempt < 3; attempt++) {
    img_reg_response_clear(resp);
    resp->content_length = -1;
    CURL *c = curl_easy_init();
    if (!c) {
      kube_make_oom(err);
      break;
    }
    struct req_ctx ctx = {.resp = resp,
                          .max_body = rq->max_body ? rq->max_body : 1 << 20,
                          .sink = rq->sink,
                          .sink_arg = rq->sink_arg,
                          .upload = rq->body,
                          .upload_len = rq->body_len,
                          .source = rq->source,
                          .source_arg = rq->source_arg,
                          .progress = rq->progress,
                          .progress_arg = rq->progress_arg};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    for (size_t i = 0; i < rq->n_headers; i++)
      h = curl_slist_append(h, rq->headers[i]);
    pthread_mutex_lock(&ss->mu);
    char *auth_hdr = NULL;
    if (ss->token) {
      if (asprintf(&auth_hdr, "Authorization: Bearer %s", ss->token) < 0)
        auth_hdr = NULL;
    }
    pthread_mutex_unlock(&ss->mu);
    if (auth_hdr)
      h = curl_slist_append(h, auth_hdr);
    else if (ss->basic && ss->auth.username) {
      curl_easy_setopt(c, CURLOPT_USERNAME, ss->auth.username);
      curl_easy_setopt(c, CURLOPT_PASSWORD,
                       ss->auth.password ? ss->auth.password : "");
    }
    if (rq->body || rq->source)
      h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &ctx);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a stalled transfer fails instead of hanging a pod start forever */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "libkube/" KUBE_VERSION);
    /* blobs redirect to storage; the token must not follow them there */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, rq->follow ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
    apply_tls(c, ss);
    if (rq->progress) {
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
      curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ctx);
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    const char *m = rq->method;
    if (streq(m, "HEAD"))
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (streq(m, "PUT") || streq(m, "PATCH") || streq(m, "POST")) {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(c, CURLOPT_READDATA, &ctx);
      curl_easy_setopt(
          c, CURLOPT_INFILESIZE_LARGE,
          (curl_off_t)(rq->source ? rq->source_len : (int64_t)rq->body_len));
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    } else if (!streq(m, "GET"))
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    CURLcode cr = curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    free(auth_hdr);
    if (ctx.sink_failed) {
      if (!kube_error_is_set(err))
        kube_make_error(err, 0, "%s: writing the download failed", url.data);
      break;
    }
    if (cr != CURLE_OK) {
      curl_fail(cr, url.data, errbuf, err);
      break;
    }
    if (resp->status == 401 && resp->www_auth && attempt < 2 && !rq->source) {
      if (strncasecmp(resp->www_auth, "Bearer", 6) == 0) {
        if (fetch_token(ss, resp->www_auth, err) < 0)
          break;
        continue;
      }
      if (strncasecmp(resp->www_auth, "Basic", 5) == 0 && ss->auth.username &&
          !basic_tried) {
        ss->basic = true;
        basic_tried = true;
        continue;
      }
    }
    rc = 0;
    break;
  }
  kube_strbuf_clear(&url);
  return rc;
}

/* The distribution spec's error body: {"errors":[{"code","message"}]}. */
int img_reg_error(const img_reg_session_t *ss, const img_reg_response_t *r,
                  const char *what, kube_error_t *err) {
  const char *code = NULL, *msg = NULL;
  json_object *o = r->body ? json_tokener_parse(r->body) : NULL;
  json_object *errs = NULL;
  if (o && json_object_object_get_ex(o, "errors", &errs) &&
      json_object_array_length(errs) > 0) {
    json_object *e0 = json_object_array_get_idx(errs, 0);
    code = img_json_str(e0, "code");
    msg = img_json_str(e0, "message");
  }
  kube_reason_t reason = kube_reason_from_http_code(r->status);
  if (r->status == 404)
    reason = KUBE_REASON_NOT_FOUND;
  kube_error_set(err, reason, 0, "%s %s/%s: %s%s%s (HTTP %d)", what,
                 ss->ep->host, ss->ep->repo, code ? code : "error",
                 msg ? ": " : "", msg ? msg : "", r->status);
  json_object_put(o);
  return -1;
}
