/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in registry: listeners, authentication, routing and the
 * requests that need one round trip to the store (catalog, tags,
 * manifests, referrers, blob deletes).  Blob downloads and uploads, which
 * move bytes in many rounds, are in regserver-blobs.c.
 *
 * Every request becomes a job: the loop copies what the worker needs out
 * of the request, a worker thread does the store work and fills in the
 * answer, and the loop sends it.  The request object never leaves the
 * loop thread.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "image/regserver-job.h"

/* ---- answers ---- */

void img_rs_job_error(img_rs_job_t *j, img_rs_code_t code, const char *fmt,
                      ...) {
  j->code = code;
  j->status = img_rs_code_status(code);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(j->msg, sizeof j->msg, fmt, ap);
  va_end(ap);
}

void img_rs_job_header(img_rs_job_t *j, const char *name, const char *fmt,
                       ...) {
  if (j->n_hdrs >= RS_MAX_HDRS)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *v = NULL;
  if (vasprintf(&v, fmt, ap) < 0)
    v = NULL;
  va_end(ap);
  if (!v)
    return;
  j->hdrs[j->n_hdrs].name = name;
  j->hdrs[j->n_hdrs++].value = v;
}

/* Map a store error to the spec code the operation wants for NotFound. */
void img_rs_job_store_error(img_rs_job_t *j, const kube_error_t *err,
                            img_rs_code_t not_found) {
  img_rs_code_t c = RS_UNSUPPORTED;
  switch (err->reason) {
  case KUBE_REASON_NOT_FOUND:
    c = not_found;
    break;
  case KUBE_REASON_BAD_REQUEST:
    c = RS_DIGEST_INVALID;
    break;
  default:
    j->code = RS_UNSUPPORTED;
    j->status = 500;
    snprintf(j->msg, sizeof j->msg, "%s", err->message ? err->message : "");
    return;
  }
  img_rs_job_error(j, c, "%s", err->message ? err->message : "");
}

static char *error_json(img_rs_code_t code, const char *msg) {
  json_object *o = json_object_new_object(), *errs = json_object_new_array(),
              *e = json_object_new_object();
  json_object_object_add(e, "code",
                         json_object_new_string(img_rs_code_name(code)));
  json_object_object_add(e, "message", json_object_new_string(msg));
  json_object_object_add(e, "detail", json_object_new_object());
  json_object_array_add(errs, e);
  json_object_object_add(o, "errors", errs);
  char *t = strdup(json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  return t;
}

static void add_api_headers(kube_http_request_t *req) {
  kube_http_response_add_header(req, "Docker-Distribution-API-Version",
                                "registry/2.0", NULL);
}

/* A body with an exact Content-Length, HEAD included (kube_http_reply
 * would announce 0 bytes for a HEAD). */
void img_rs_send(kube_http_request_t *req, int status, const char *ctype,
                 const void *body, size_t len) {
  if (kube_http_stream_begin(req, status, ctype, (int64_t)len) == 0 && len)
    kube_http_stream_write(req, body, len);
  kube_http_stream_end(req);
}

void img_rs_reply_error(kube_http_request_t *req, img_rs_code_t code,
                        int status, const char *msg) {
  cleanup_free char *body = error_json(code, msg);
  add_api_headers(req);
  img_rs_send(req, status ? status : img_rs_code_status(code),
              "application/json", body ? body : "", body ? strlen(body) : 0);
}

/* Send what the worker put in the job and free it. */
void img_rs_job_finish(img_rs_job_t *j) {
  kube_http_request_t *req = j->req;
  j->req = NULL;
  if (req) {
    kube_http_request_set_close_cb(req, NULL, NULL);
    for (size_t i = 0; i < j->n_hdrs; i++)
      kube_http_response_add_header(req, j->hdrs[i].name, j->hdrs[i].value,
                                    NULL);
    if (j->code != RS_OK) {
      img_rs_reply_error(req, j->code, j->status, j->msg);
    } else {
      add_api_headers(req);
      img_rs_send(req, j->status ? j->status : 200,
                  j->ctype[0] ? j->ctype : NULL, j->out.data ? j->out.data : "",
                  j->out.len);
    }
  }
  img_rs_job_free(j);
}

/* ---- jobs ---- */

/* The peer left.  A job on a worker notices when it comes back; one
 * that waits for the peer (a body read, a drained socket) ends now. */
static void on_close(kube_http_request_t *req, void *arg) {
  img_rs_job_t *j = arg;
  j->gone = true;
  if (j->busy)
    return;
  if (j->on_gone)
    j->on_gone(j);
  else
    img_rs_job_finish(j);
}

img_rs_job_t *img_rs_job_new(kube_image_registry_t *reg,
                             kube_http_request_t *req,
                             const img_rs_route_t *route) {
  img_rs_job_t *j = calloc(1, sizeof *j);
  if (!j)
    return NULL;
  j->reg = reg;
  j->req = req;
  j->route = *route;
  j->fd = -1;
  j->method = kube_http_request_method(req);
  j->head = streq(j->method, "HEAD");
#define COPY(field, v)                                                         \
  do {                                                                         \
    const char *x_ = (v);                                                      \
    if (x_)                                                                    \
      j->field = strdup(x_);                                                   \
  } while (0)
  COPY(q_n, kube_http_request_query_param(req, "n"));
  COPY(q_last, kube_http_request_query_param(req, "last"));
  COPY(q_digest, kube_http_request_query_param(req, "digest"));
  COPY(q_mount, kube_http_request_query_param(req, "mount"));
  COPY(q_from, kube_http_request_query_param(req, "from"));
  COPY(q_artifact_type, kube_http_request_query_param(req, "artifactType"));
  COPY(h_ctype, kube_http_request_header(req, "Content-Type"));
  COPY(h_crange, kube_http_request_header(req, "Content-Range"));
  COPY(h_range, kube_http_request_header(req, "Range"));
#undef COPY
  const char *cl = kube_http_request_header(req, "Content-Length");
  j->content_length = cl ? strtoll(cl, NULL, 10) : -1;
  reg->active++;
  kube_http_request_set_close_cb(req, on_close, j);
  return j;
}

void img_rs_job_free(img_rs_job_t *j) {
  if (!j)
    return;
  kube_image_registry_t *reg = j->reg;
  if (j->req) {
    kube_http_request_set_close_cb(j->req, NULL, NULL);
    kube_http_stream_abort(j->req);
  }
  if (j->fd >= 0)
    close(j->fd);
  for (size_t i = 0; i < j->n_hdrs; i++)
    free(j->hdrs[i].value);
  free(j->q_n);
  free(j->q_last);
  free(j->q_digest);
  free(j->q_mount);
  free(j->q_from);
  free(j->q_artifact_type);
  free(j->h_ctype);
  free(j->h_crange);
  free(j->h_range);
  kube_strbuf_clear(&j->out);
  kube_strbuf_clear(&j->in);
  free(j->buf);
  free(j->piece);
  free(j->stash);
  free(j);
  reg->active--;
  img_rs_registry_idle_check(reg);
}

static void job_done(void *arg) {
  img_rs_job_t *j = arg;
  j->busy = false;
  if (j->then)
    j->then(j);
  else
    img_rs_job_finish(j);
}

void img_rs_job_submit(img_rs_job_t *j, kube_work_fn work,
                       void (*then)(img_rs_job_t *)) {
  kube_error_t err = KUBE_ERROR_INIT;
  j->then = then;
  j->busy = true;
  if (kube_workers_submit(j->reg->workers, work, job_done, j, &err) < 0) {
    j->busy = false;
    img_rs_job_error(j, RS_TOOMANYREQUESTS, "%s", err.message);
    j->status = 503;
    kube_error_clear(&err);
    img_rs_job_finish(j);
  }
}

/* ---- catalog and tags (paged) ---- */

/* n/last paging of a sorted list into a JSON array; the Link header for
 * the next page. */
static void page(img_rs_job_t *j, char **v, size_t n, const char *key,
                 const char *link_path) {
  long long limit = -1;
  if (j->q_n) {
    char *end;
    limit = strtoll(j->q_n, &end, 10);
    if (*end || limit < 0) {
      img_rs_job_error(j, RS_UNSUPPORTED, "n must be a non-negative number");
      j->status = 400;
      return;
    }
  }
  size_t start = 0;
  if (j->q_last)
    while (start < n && strcmp(v[start], j->q_last) <= 0)
      start++;
  json_object *arr = json_object_new_array();
  size_t i = start;
  for (; i < n && (limit < 0 || (long long)(i - start) < limit); i++)
    json_object_array_add(arr, json_object_new_string(v[i]));
  if (limit > 0 && i < n) {
    /* names and tags need no escaping: their grammar has no such byte */
    img_rs_job_header(j, "Link", "<%s?n=%lld&last=%s>; rel=\"next\"", link_path,
                      limit, v[i - 1]);
  }
  json_object *o = json_object_new_object();
  if (streq(key, "tags"))
    json_object_object_add(o, "name", json_object_new_string(j->route.name));
  json_object_object_add(o, key, arr);
  kube_strbuf_append(
      &j->out, json_object_to_json_string_ext(
                   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  snprintf(j->ctype, sizeof j->ctype, "application/json");
}

static void work_catalog(void *arg) {
  img_rs_job_t *j = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  char **v = img_rs_catalog(j->reg->store, &err);
  if (!v) {
    img_rs_job_store_error(j, &err, RS_NAME_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  page(j, v, img_strv_len(v), "repositories", "/v2/_catalog");
  img_strv_free(v);
}

static void work_tags(void *arg) {
  img_rs_job_t *j = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  img_rs_entry_t *e = NULL;
  size_t n = 0;
  if (img_rs_repo_entries(j->reg->store, j->route.name, &e, &n, &err) < 0) {
    img_rs_job_store_error(j, &err, RS_NAME_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  char **tags = calloc(n + 1, sizeof *tags);
  size_t k = 0;
  for (size_t i = 0; tags && i < n; i++)
    if (e[i].tag && (k == 0 || !streq(tags[k - 1], e[i].tag)))
      tags[k++] = e[i].tag;
  if (n == 0) {
    /* a repository of links only still exists */
    cleanup_free char **cat = img_rs_catalog(j->reg->store, &err);
    bool known = false;
    for (size_t i = 0; cat && cat[i]; i++) {
      known = known || streq(cat[i], j->route.name);
      free(cat[i]);
    }
    kube_error_clear(&err);
    if (!known)
      img_rs_job_error(j, RS_NAME_UNKNOWN, "repository %s unknown",
                       j->route.name);
  }
  if (j->code == RS_OK) {
    char path[RS_MAX_NAME + 32];
    snprintf(path, sizeof path, "/v2/%s/tags/list", j->route.name);
    page(j, tags, k, "tags", path);
  }
  free(tags);
  img_rs_entries_free(e, n);
}

/* ---- manifests ---- */

static void work_manifest_get(void *arg) {
  img_rs_job_t *j = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *digest = NULL, *mt = NULL;
  if (img_rs_manifest_find(j->reg->store, j->route.name, j->route.ref,
                           j->route.ref_is_digest, &digest, &mt, &err) < 0) {
    img_rs_job_store_error(j, &err, RS_MANIFEST_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  size_t len = 0;
  char *body =
      img_blob_read(j->reg->store, digest, j->reg->max_manifest, &len, &err);
  if (!body) {
    img_rs_job_store_error(j, &err, RS_MANIFEST_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  /* the document's own media type wins over the index entry's */
  img_rs_manifest_info_t mi;
  char msg[160];
  if (img_rs_manifest_check(body, len, NULL, &mi, msg, sizeof msg) == RS_OK) {
    json_object *o = json_tokener_parse(body);
    if (img_json_str(o, "mediaType"))
      snprintf(j->ctype, sizeof j->ctype, "%s", mi.media_type);
    json_object_put(o);
    img_rs_manifest_info_clear(&mi);
  }
  if (!j->ctype[0])
    snprintf(j->ctype, sizeof j->ctype, "%s", mt);
  img_rs_job_header(j, "Docker-Content-Digest", "%s", digest);
  img_rs_job_header(j, "Etag", "\"%s\"", digest);
  j->out.data = body;
  j->out.len = len;
  j->out.cap = len + 1;
}

static void work_manifest_put(void *arg) {
  img_rs_job_t *j = arg;
  img_rs_manifest_info_t mi;
  char msg[160];
  img_rs_code_t c =
      img_rs_manifest_check(j->in.data ? j->in.data : "", j->in.len, j->h_ctype,
                            &mi, msg, sizeof msg);
  if (c != RS_OK) {
    img_rs_job_error(j, c, "%s", msg);
    return;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *digest = NULL;
  if (img_rs_manifest_put(j->reg->store, j->route.name, j->route.ref,
                          j->route.ref_is_digest, j->in.data, j->in.len, &mi,
                          &digest, &err) < 0) {
    img_rs_job_store_error(j, &err, RS_MANIFEST_BLOB_UNKNOWN);
    kube_error_clear(&err);
  } else {
    j->status = 201;
    img_rs_job_header(j, "Location", "/v2/%s/manifests/%s", j->route.name,
                      digest);
    img_rs_job_header(j, "Docker-Content-Digest", "%s", digest);
    if (mi.subject)
      img_rs_job_header(j, "OCI-Subject", "%s", mi.subject);
  }
  img_rs_manifest_info_clear(&mi);
}

static void work_manifest_delete(void *arg) {
  img_rs_job_t *j = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  if (img_rs_manifest_delete(j->reg->store, j->route.name, j->route.ref,
                             j->route.ref_is_digest, &err) < 0) {
    img_rs_job_store_error(j, &err, RS_MANIFEST_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  j->status = 202;
}

static void manifest_piece(kube_http_request_t *req, int status,
                           const void *data, size_t len, void *arg) {
  img_rs_job_t *j = arg;
  if (status < 0) {
    img_rs_job_error(j, RS_MANIFEST_INVALID, "malformed request body");
    img_rs_job_finish(j);
    return;
  }
  if (status > 0) {
    if (j->in.len + len > j->reg->max_manifest) {
      img_rs_job_error(j, RS_SIZE_INVALID, "the manifest exceeds %zu bytes",
                       j->reg->max_manifest);
      j->status = 413;
      img_rs_job_finish(j);
      return;
    }
    kube_strbuf_append_len(&j->in, data, len);
    if (kube_http_request_read_body(req, 0, manifest_piece, j) < 0)
      img_rs_job_finish(j); /* the peer is gone: released quietly */
    return;
  }
  if (j->in.oom) {
    img_rs_job_error(j, RS_SIZE_INVALID, "out of memory");
    j->status = 500;
    img_rs_job_finish(j);
    return;
  }
  img_rs_job_submit(j, work_manifest_put, NULL);
}

/* ---- referrers ---- */

static void work_referrers(void *arg) {
  img_rs_job_t *j = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  char *t = img_rs_referrers(j->reg->store, j->route.name, j->route.ref,
                             j->q_artifact_type, &err);
  if (!t) {
    img_rs_job_store_error(j, &err, RS_NAME_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  kube_strbuf_append(&j->out, t);
  free(t);
  snprintf(j->ctype, sizeof j->ctype, "%s", IMG_MT_OCI_INDEX);
  if (j->q_artifact_type)
    img_rs_job_header(j, "OCI-Filters-Applied", "artifactType");
}

/* ---- authentication ---- */

static bool token_eq(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* Bearer TOKEN, or Basic with TOKEN as the password. */
static bool credentials_ok(kube_image_registry_t *reg, const char *auth) {
  if (!auth || !reg->token)
    return false;
  if (strncasecmp(auth, "Bearer ", 7) == 0)
    return token_eq(auth + 7, reg->token);
  if (strncasecmp(auth, "Basic ", 6) != 0)
    return false;
  size_t len = 0;
  cleanup_free unsigned char *dec =
      kube_base64_decode(auth + 6, strlen(auth + 6), &len, NULL);
  char *colon = dec ? memchr(dec, ':', len) : NULL;
  return colon && token_eq(colon + 1, reg->token);
}

static bool host_ok(const char *h) {
  if (!h || !*h || strlen(h) > 255)
    return false;
  for (const char *p = h; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
      return false;
  return true;
}

static void challenge(kube_http_request_t *req) {
  const char *host = kube_http_request_header(req, "Host");
  char v[400];
  snprintf(v, sizeof v,
           "Bearer realm=\"https://%s/v2/token\",service=\"libkube-registry\"",
           host_ok(host) ? host : "127.0.0.1");
  kube_http_response_add_header(req, "WWW-Authenticate", v, NULL);
  img_rs_reply_error(req, RS_UNAUTHORIZED, 401, "authentication required");
}

static void token_endpoint(kube_image_registry_t *reg,
                           kube_http_request_t *req) {
  if (!credentials_ok(reg, kube_http_request_header(req, "Authorization"))) {
    kube_http_response_add_header(req, "WWW-Authenticate",
                                  "Basic realm=\"libkube-registry\"", NULL);
    img_rs_reply_error(req, RS_UNAUTHORIZED, 401,
                       "the password must be the cluster token");
    return;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "token", json_object_new_string(reg->token));
  json_object_object_add(o, "access_token", json_object_new_string(reg->token));
  json_object_object_add(o, "expires_in", json_object_new_int(3600));
  const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  add_api_headers(req);
  img_rs_send(req, 200, "application/json", t, strlen(t));
  json_object_put(o);
}

/* ---- routing ---- */

static void on_request(kube_http_request_t *req, void *arg) {
  kube_image_registry_t *reg = arg;
  const char *m = kube_http_request_method(req);
  img_rs_route_t route;
  img_rs_code_t c = img_rs_route_parse(kube_http_request_path(req), &route);
  bool secure = kube_http_request_listener_type(req) == KUBE_HTTP_TLS;
  if (c == RS_OK && route.kind == RS_TOKEN) {
    token_endpoint(reg, req);
    return;
  }
  if (secure &&
      !credentials_ok(reg, kube_http_request_header(req, "Authorization"))) {
    challenge(req);
    return;
  }
  if (reg->draining) {
    img_rs_reply_error(req, RS_TOOMANYREQUESTS, 503,
                       "the registry is stopping");
    return;
  }
  bool get = streq(m, "GET") || streq(m, "HEAD");
  if (c != RS_OK) {
    /* a malformed tag: MANIFEST_INVALID for a push, unknown otherwise */
    if (c == RS_MANIFEST_INVALID && !streq(m, "PUT"))
      c = RS_MANIFEST_UNKNOWN;
    img_rs_reply_error(req, c, 0,
                       c == RS_NAME_UNKNOWN ? "unknown endpoint"
                       : c == RS_NAME_INVALID
                           ? "invalid repository name"
                           : "invalid reference in the request path");
    return;
  }
  kube_work_fn work = NULL;
  switch (route.kind) {
  case RS_BASE:
    if (get) {
      add_api_headers(req);
      img_rs_send(req, 200, "application/json", "{}", 2);
      return;
    }
    break;
  case RS_CATALOG:
    work = get ? work_catalog : NULL;
    break;
  case RS_TAGS:
    work = get ? work_tags : NULL;
    break;
  case RS_REFERRERS:
    work = get ? work_referrers : NULL;
    break;
  case RS_MANIFEST:
    work = get                  ? work_manifest_get
           : streq(m, "DELETE") ? work_manifest_delete
           : streq(m, "PUT")    ? work_manifest_put
                                : NULL;
    break;
  case RS_BLOB:
  case RS_UPLOAD_NEW:
  case RS_UPLOAD:
    if (img_rs_blob_request(reg, req, &route))
      return;
    break;
  default:
    break;
  }
  if (!work) {
    img_rs_reply_error(req, RS_UNSUPPORTED, 405, "method not allowed here");
    return;
  }
  img_rs_job_t *j = img_rs_job_new(reg, req, &route);
  if (!j) {
    img_rs_reply_error(req, RS_UNSUPPORTED, 500, "out of memory");
    return;
  }
  if (work == work_manifest_put) {
    if (j->content_length > (int64_t)reg->max_manifest) {
      img_rs_job_error(j, RS_SIZE_INVALID, "the manifest exceeds %zu bytes",
                       reg->max_manifest);
      j->status = 413;
      img_rs_job_finish(j);
      return;
    }
    if (kube_http_request_read_body(req, 0, manifest_piece, j) < 0)
      img_rs_job_finish(j);
    return;
  }
  img_rs_job_submit(j, work, NULL);
}

/* ---- life cycle ---- */

static char *http_error_body(int code, const char *message, void *arg) {
  return error_json(code == 413   ? RS_SIZE_INVALID
                    : code == 404 ? RS_NAME_UNKNOWN
                                  : RS_UNSUPPORTED,
                    message);
}

KUBE_EXPORT kube_image_registry_t *
kube_image_registry_new(kube_loop_t *loop, kube_image_store_t *store,
                        const kube_image_registry_options_t *opts,
                        kube_error_t *err) {
  kube_image_registry_options_t o = {0};
  core_opts_copy(&o, opts);
  kube_image_registry_t *reg = calloc(1, sizeof *reg);
  if (!reg) {
    kube_make_oom(err);
    return NULL;
  }
  reg->loop = loop;
  reg->store = store;
  reg->max_manifest =
      o.max_manifest_bytes ? o.max_manifest_bytes : (size_t)IMG_MAX_MANIFEST;
  if ((o.token && !(reg->token = strdup(o.token))) ||
      (o.tls_cert_file && !(reg->cert = strdup(o.tls_cert_file))) ||
      (o.tls_key_file && !(reg->key = strdup(o.tls_key_file)))) {
    kube_make_oom(err);
    goto fail;
  }
  reg->workers = o.workers;
  if (!reg->workers) {
    if (!(reg->workers = kube_workers_new(loop, 4, err)))
      goto fail;
    reg->own_workers = true;
  }
  /* Generous timeouts: a client may pause between upload chunks. */
  kube_http_server_options_t ho = {.struct_size = sizeof ho,
                                   .max_body_bytes = 64 * 1024,
                                   .body_timeout_ms = 120000,
                                   .idle_timeout_ms = 300000,
                                   .write_timeout_ms = 300000,
                                   .error_body = http_error_body};
  if (!(reg->http = kube_http_server_new(loop, &ho, err)) ||
      kube_http_server_handle_streaming(reg->http, "/", on_request, reg, err) <
          0)
    goto fail;
  return reg;
fail:
  kube_image_registry_free(reg);
  return NULL;
}

static bool loopback_host(const char *h) {
  return str_has_prefix(h, "127.") || streq(h, "[::1]") || streq(h, "::1") ||
         streq(h, "localhost");
}

KUBE_EXPORT int kube_image_registry_listen(kube_image_registry_t *reg,
                                           const char *spec,
                                           kube_error_t *err) {
  const char *colon = spec ? strrchr(spec, ':') : NULL;
  if (!spec || !str_has_prefix(spec, "tcp:") || !colon || colon < spec + 4)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "registry listen address %s: want tcp:ADDR:PORT",
                          spec ? spec : "(null)");
  char host[256];
  snprintf(host, sizeof host, "%.*s", (int)(colon - spec - 4), spec + 4);
  bool loop_only = loopback_host(host);
  kube_http_listen_options_t lo = {.struct_size = sizeof lo};
  if (!loop_only) {
    if (!reg->token || !reg->cert || !reg->key)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "registry listener %s is not loopback: it needs "
                            "TLS and a token",
                            spec);
    lo.tls_cert_file = reg->cert;
    lo.tls_key_file = reg->key;
  }
  kube_http_listener_t *l = kube_http_server_listen(reg->http, spec, &lo, err);
  if (!l)
    return kube_error_wrap(err, "registry");
  int port = kube_http_listener_port(l);
  if (!reg->address) {
    bool wild = !*host || streq(host, "0.0.0.0") || streq(host, "[::]");
    if (asprintf(&reg->address, "%s:%d", wild ? "127.0.0.1" : host, port) < 0)
      reg->address = NULL;
  }
  return port;
}

KUBE_EXPORT const char *
kube_image_registry_address(const kube_image_registry_t *reg) {
  return reg ? reg->address : NULL;
}

void img_rs_registry_idle_check(kube_image_registry_t *reg) {
  if (reg->draining && reg->active == 0 && reg->drained) {
    void (*done)(void *) = reg->drained;
    reg->drained = NULL;
    done(reg->drained_arg);
  }
}

KUBE_EXPORT void kube_image_registry_drain(kube_image_registry_t *reg,
                                           void (*done)(void *arg), void *arg) {
  reg->draining = true;
  reg->drained = done;
  reg->drained_arg = arg;
  img_rs_registry_idle_check(reg);
}

KUBE_EXPORT void kube_image_registry_free(kube_image_registry_t *reg) {
  if (!reg)
    return;
  reg->drained = NULL;
  /* Completions still queued finish their jobs (their requests are cut
   * off with the server below). */
  if (reg->own_workers)
    kube_workers_free(reg->workers);
  kube_http_server_free(reg->http);
  free(reg->token);
  free(reg->cert);
  free(reg->key);
  free(reg->address);
  free(reg);
}
