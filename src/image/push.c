/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Push: every blob the registry lacks is mounted from another repository
 * of the same registry when the store knows one that has it, else
 * uploaded in chunks (PATCH with Content-Range) that resume from the
 * registry's reported Range after a failed chunk; then the manifest, byte
 * for byte as stored, so its digest does not change.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/registry.h"

/* Chunk size of uploads; KUBE_IMAGE_UPLOAD_CHUNK overrides it (tests use
 * small chunks to exercise resumption). */
static int64_t chunk_size(void) {
  const char *e = getenv("KUBE_IMAGE_UPLOAD_CHUNK");
  long long v = e ? atoll(e) : 0;
  return v > 0 ? v : 16 << 20;
}

struct src {
  int fd;
  int64_t off, end;
};

static ssize_t src_read(void *arg, char *buf, size_t len) {
  struct src *s = arg;
  if (s->off >= s->end)
    return 0;
  if ((int64_t)len > s->end - s->off)
    len = (size_t)(s->end - s->off);
  ssize_t n;
  do
    n = pread(s->fd, buf, len, s->off);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return -1;
  s->off += n;
  return n;
}

/* "Range: 0-1023" -> 1024 bytes received. */
static int64_t range_received(const char *range) {
  if (!range)
    return -1;
  const char *dash = strchr(range, '-');
  if (!dash)
    return -1;
  return atoll(dash + 1) + 1;
}

static char *with_query(const char *location, const char *q) {
  char *u = NULL;
  if (asprintf(&u, "%s%c%s", location, strchr(location, '?') ? '&' : '?', q) <
      0)
    return NULL;
  return u;
}

/* Resolve a Location header against the session base. */
static char *absolute(img_reg_session_t *ss, const char *loc) {
  if (str_has_prefix(loc, "http://") || str_has_prefix(loc, "https://"))
    return strdup(loc);
  char *u = NULL;
  if (asprintf(&u, "%s%s", ss->base, loc) < 0)
    return NULL;
  return u;
}

struct push_ctx {
  kube_image_store_t *s;
  img_reg_session_t *ss;
  img_progress_t *prog;
  char **mount_from; /* per blob: a repository path on the same registry */
};

static int upload_blob(struct push_ctx *pc, const img_desc_t *d,
                       const char *from, kube_error_t *err) {
  img_reg_session_t *ss = pc->ss;
  img_reg_response_t resp;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "/%s/blobs/%s", ss->ep->repo, d->digest);
  img_reg_request_t head = {.method = "HEAD", .path = sb.data};
  if (img_reg_request(ss, &head, &resp, err) < 0) {
    kube_strbuf_clear(&sb);
    return -1;
  }
  kube_strbuf_clear(&sb);
  if (resp.status == 200) {
    img_reg_response_clear(&resp);
    img_progress_emit(pc->prog, KUBE_IMAGE_PROGRESS_LAYER_DONE, d->digest,
                      "exists", d->size, d->size);
    return 0;
  }
  img_reg_response_clear(&resp);
  if (from)
    kube_strbuf_printf(&sb, "/%s/blobs/uploads/?mount=%s&from=%s", ss->ep->repo,
                       d->digest, from);
  else
    kube_strbuf_printf(&sb, "/%s/blobs/uploads/", ss->ep->repo);
  img_reg_request_t post = {
      .method = "POST", .path = sb.data, .body = "", .body_len = 0};
  int r = img_reg_request(ss, &post, &resp, err);
  kube_strbuf_clear(&sb);
  if (r < 0)
    return -1;
  if (resp.status == 201) {
    img_reg_response_clear(&resp);
    img_progress_emit(pc->prog, KUBE_IMAGE_PROGRESS_LAYER_DONE, d->digest,
                      "mounted", d->size, d->size);
    return 0;
  }
  if (resp.status != 202 || !resp.location) {
    img_reg_error(ss, &resp, "start upload", err);
    img_reg_response_clear(&resp);
    return -1;
  }
  cleanup_free char *loc = absolute(ss, resp.location);
  img_reg_response_clear(&resp);
  cleanup_free char *path = img_blob_path(pc->s, d->digest);
  cleanup_close int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  if (!loc || fd < 0)
    return kube_make_error(err, errno, "blob %s: %s", d->digest,
                           strerror(errno));
  int64_t chunk = chunk_size();
  int64_t off = 0;
  int failures = 0;
  while (off < d->size) {
    int64_t end = off + chunk < d->size ? off + chunk : d->size;
    struct src src = {fd, off, end};
    char cr[96];
    snprintf(cr, sizeof cr, "Content-Range: %lld-%lld", (long long)off,
             (long long)end - 1);
    const char *hdrs[] = {"Content-Type: application/octet-stream", cr};
    img_reg_request_t patch = {.method = "PATCH",
                               .path = loc,
                               .headers = hdrs,
                               .n_headers = 2,
                               .source = src_read,
                               .source_arg = &src,
                               .source_len = end - off};
    kube_error_t perr = KUBE_ERROR_INIT;
    r = img_reg_request(ss, &patch, &resp, &perr);
    if (r == 0 && resp.status == 202) {
      kube_error_clear(&perr);
      if (resp.location) {
        char *n = absolute(ss, resp.location);
        if (n) {
          free(loc);
          loc = n;
        }
      }
      int64_t got = range_received(resp.range);
      off = got >= 0 ? got : end;
      img_reg_response_clear(&resp);
      img_progress_emit(pc->prog, KUBE_IMAGE_PROGRESS_LAYER, d->digest, NULL,
                        off, d->size);
      failures = 0;
      continue;
    }
    /* A failed chunk: ask the registry how much it has and go on from
     * there (the upload session survives). */
    if (r == 0 && resp.status < 500 && resp.status != 408 &&
        resp.status != 429) {
      img_reg_error(ss, &resp, "upload chunk", err);
      img_reg_response_clear(&resp);
      kube_error_clear(&perr);
      return -1;
    }
    img_reg_response_clear(&resp);
    if (++failures > 3) {
      if (kube_error_is_set(&perr))
        kube_error_move(err, &perr);
      else
        kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                       "upload %s: chunk failed 3 times", d->digest);
      return -1;
    }
    kube_error_clear(&perr);
    img_reg_request_t status = {.method = "GET", .path = loc};
    if (img_reg_request(ss, &status, &resp, err) < 0)
      return -1;
    if (resp.status != 204 && resp.status != 200) {
      img_reg_error(ss, &resp, "upload status", err);
      img_reg_response_clear(&resp);
      return -1;
    }
    int64_t got = range_received(resp.range);
    off = got >= 0 ? got : 0;
    if (resp.location) {
      char *n = absolute(ss, resp.location);
      if (n) {
        free(loc);
        loc = n;
      }
    }
    img_reg_response_clear(&resp);
  }
  char q[96];
  snprintf(q, sizeof q, "digest=%s", d->digest);
  cleanup_free char *fin = with_query(loc, q);
  if (!fin)
    return kube_make_oom(err);
  const char *hdrs[] = {"Content-Type: application/octet-stream"};
  img_reg_request_t put = {.method = "PUT",
                           .path = fin,
                           .headers = hdrs,
                           .n_headers = 1,
                           .body = "",
                           .body_len = 0};
  if (img_reg_request(ss, &put, &resp, err) < 0)
    return -1;
  if (resp.status != 201 && resp.status != 204) {
    img_reg_error(ss, &resp, "finish upload", err);
    img_reg_response_clear(&resp);
    return -1;
  }
  img_reg_response_clear(&resp);
  img_progress_emit(pc->prog, KUBE_IMAGE_PROGRESS_LAYER_DONE, d->digest,
                    "pushed", d->size, d->size);
  return 0;
}

/* A repository of the same registry whose stored image has blob digest. */
static char *mount_source(kube_image_store_t *s, const kube_image_ref_t *dst,
                          const char *digest) {
  kube_image_info_t *infos = NULL;
  size_t n = 0;
  char *found = NULL;
  if (kube_image_list(s, &infos, &n, NULL) < 0)
    return NULL;
  for (size_t i = 0; i < n && !found; i++) {
    bool has = false;
    img_image_t im;
    if (img_image_load(s, infos[i].manifest_digest, &im, NULL) < 0)
      continue;
    for (size_t l = 0; l < im.m.n_layers && !has; l++)
      has = streq(im.m.layers[l].digest, digest);
    img_image_clear(&im);
    for (size_t k = 0; has && k < infos[i].n_names && !found; k++) {
      kube_image_ref_t r;
      if (kube_image_ref_parse(infos[i].names[k], &r, NULL) < 0)
        continue;
      if (streq(r.domain, dst->domain) && !streq(r.path, dst->path))
        found = strdup(r.path);
      kube_image_ref_clear(&r);
    }
  }
  kube_image_info_free_array(infos, n);
  return found;
}

static int push_to(struct push_ctx *pc, const img_image_t *im,
                   const char *tag_or_digest, char **digest_out,
                   kube_error_t *err) {
  const img_desc_t *descs[im->m.n_layers + 1];
  descs[0] = &im->m.config;
  for (size_t i = 0; i < im->m.n_layers; i++)
    descs[i + 1] = &im->m.layers[i];
  for (size_t i = 0; i <= im->m.n_layers; i++)
    if (upload_blob(pc, descs[i], i ? pc->mount_from[i - 1] : NULL, err) < 0)
      return -1;
  kube_strbuf_t path = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&path, "/%s/manifests/%s", pc->ss->ep->repo,
                     tag_or_digest);
  char ct[160];
  snprintf(ct, sizeof ct, "Content-Type: %s", im->m.media_type);
  const char *hdrs[] = {ct};
  img_reg_request_t put = {.method = "PUT",
                           .path = path.data,
                           .headers = hdrs,
                           .n_headers = 1,
                           .body = im->manifest_json,
                           .body_len = im->manifest_len};
  img_reg_response_t resp;
  int rc =
      path.oom ? kube_make_oom(err) : img_reg_request(pc->ss, &put, &resp, err);
  kube_strbuf_clear(&path);
  if (rc < 0)
    return -1;
  if (resp.status != 201 && resp.status != 200 && resp.status != 202) {
    img_reg_error(pc->ss, &resp, "push manifest", err);
    img_reg_response_clear(&resp);
    return -1;
  }
  if (resp.digest && !streq(resp.digest, im->manifest_digest)) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                   "registry stored the manifest as %s, expected %s",
                   resp.digest, im->manifest_digest);
    img_reg_response_clear(&resp);
    return -1;
  }
  img_reg_response_clear(&resp);
  if (digest_out && !(*digest_out = strdup(im->manifest_digest)))
    return kube_make_oom(err);
  return 0;
}

KUBE_EXPORT int kube_image_push(kube_image_store_t *s, const char *src,
                                const char *dst,
                                const kube_image_transfer_options_t *o,
                                char **digest_out, kube_error_t *err) {
  if (digest_out)
    *digest_out = NULL;
  cleanup_free char *md = NULL, *src_name = NULL;
  if (img_resolve(s, src, &md, &src_name, err) < 0)
    return -1;
  const char *target = dst ? dst : src_name;
  if (!target)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "push %s: give a destination name", src);
  kube_image_ref_t r;
  if (kube_image_ref_parse(target, &r, err) < 0)
    return -1;
  img_image_t im;
  int rc = img_image_load(s, md, &im, err);
  img_endpoint_t *eps = NULL;
  size_t n = 0;
  if (rc == 0)
    rc = img_regconf_endpoints(s->regconf, &r, true, &eps, &n, err);
  img_progress_t prog;
  img_progress_init(&prog, o ? o->progress : NULL, o ? o->userdata : NULL);
  char **from = rc == 0 ? calloc(im.m.n_layers + 1, sizeof *from) : NULL;
  if (rc == 0 && !from)
    rc = kube_make_oom(err);
  for (size_t i = 0; rc == 0 && i < im.m.n_layers; i++)
    from[i] = mount_source(s, &r, im.m.layers[i].digest);
  if (rc == 0) {
    img_endpoint_t ep = eps[n - 1];
    img_auth_t auth;
    img_reg_pick_auth(s, o, &r, &ep, &auth);
    kube_error_t perr = KUBE_ERROR_INIT;
    for (int attempt = 0; attempt < 2; attempt++) {
      img_reg_session_t ss;
      rc = img_reg_session_init(&ss, &ep, &auth, o && o->insecure, true, &perr);
      struct push_ctx pc = {s, &ss, &prog, from};
      if (rc == 0)
        rc = push_to(&pc, &im, r.tag ? r.tag : r.digest, digest_out, &perr);
      img_reg_session_clear(&ss);
      if (rc == 0 || attempt || !ep.http_fallback || (o && o->insecure) ||
          perr.reason != KUBE_REASON_SERVICE_UNAVAILABLE)
        break;
      /* loopback registries: plain HTTP after HTTPS, as Docker */
      kube_error_clear(&perr);
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      kube_strbuf_printf(&sb, "http://%s", ep.host);
      ep.base = kube_strbuf_steal(&sb);
    }
    if (ep.base != eps[n - 1].base)
      free(ep.base);
    img_auth_clear(&auth);
    if (rc < 0) {
      kube_error_move(err, &perr);
      cleanup_free char *name = kube_image_ref_string(&r);
      kube_error_wrap(err, "push %s", name ? name : target);
    }
    kube_error_clear(&perr);
  }
  if (rc == 0 && r.tag) {
    /* as docker push: the destination names the image here too, with its
     * repository digest (and a later push to a sibling mounts from it) */
    cleanup_free char *name = kube_image_ref_string(&r);
    rc = name
             ? img_store_name(s, name, im.manifest_digest, im.m.media_type,
                              (int64_t)im.manifest_len, im.manifest_digest, err)
             : kube_make_oom(err);
  }
  for (size_t i = 0; from && i < im.m.n_layers; i++)
    free(from[i]);
  free(from);
  for (size_t i = 0; i < n; i++)
    img_endpoint_clear(&eps[i]);
  free(eps);
  img_progress_clear(&prog);
  img_image_clear(&im);
  kube_image_ref_clear(&r);
  return rc;
}
