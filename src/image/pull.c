/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pull: resolve a reference through the mirrors to a manifest (picking the
 * platform from an index or manifest list), then fetch the config and the
 * missing layers, several at once, each verified against its digest while
 * it streams into the store.  Also the node agent's ensure, whose fetch
 * workers unpack each layer as soon as it is stored.
 */
#include <stdlib.h>
#include <string.h>

#include "image/registry.h"

#define ACCEPT_MANIFESTS                                                       \
  "Accept: " IMG_MT_OCI_MANIFEST ", " IMG_MT_OCI_INDEX                         \
  ", " IMG_MT_DOCKER_MANIFEST ", " IMG_MT_DOCKER_LIST

/* ---- progress ------------------------------------------------------------ */

void img_progress_init(img_progress_t *p, kube_image_progress_fn fn,
                       void *userdata) {
  p->fn = fn;
  p->userdata = userdata;
  pthread_mutex_init(&p->mu, NULL);
}

void img_progress_emit(img_progress_t *p, kube_image_progress_kind_t kind,
                       const char *id, const char *message, int64_t current,
                       int64_t total) {
  if (!p || !p->fn)
    return;
  kube_image_progress_t ev = {kind, id, message, current, total};
  pthread_mutex_lock(&p->mu);
  p->fn(&ev, p->userdata);
  pthread_mutex_unlock(&p->mu);
}

void img_progress_clear(img_progress_t *p) {
  if (p)
    pthread_mutex_destroy(&p->mu);
}

/* ---- credentials --------------------------------------------------------- */

static bool auth_copy(img_auth_t *out, const img_auth_t *in) {
  if (!in->username && !in->identity_token)
    return false;
  out->username = in->username ? strdup(in->username) : NULL;
  out->password = in->password ? strdup(in->password) : NULL;
  out->identity_token = in->identity_token ? strdup(in->identity_token) : NULL;
  return true;
}

void img_reg_pick_auth(const kube_image_store_t *s,
                       const kube_image_transfer_options_t *o,
                       const kube_image_ref_t *ref, const img_endpoint_t *ep,
                       img_auth_t *out) {
  memset(out, 0, sizeof *out);
  if (o && o->username) {
    out->username = strdup(o->username);
    out->password = strdup(o->password ? o->password : "");
    return;
  }
  /* imagePullSecrets match the image's registry, as the kubelet's
   * keyring does, then the host actually contacted. */
  for (size_t i = 0; o && i < o->n_auth_configs; i++)
    if (img_auth_from_docker_config(o->auth_configs[i], ref->domain, out) ==
            0 ||
        img_auth_from_docker_config(o->auth_configs[i], ep->host, out) == 0)
      return;
  if (auth_copy(out, &ep->auth))
    return;
  if (img_regconf_docker_auth(s->regconf, ep->host, out) ||
      img_regconf_docker_auth(s->regconf, ref->domain, out))
    return;
}

/* ---- fetching ------------------------------------------------------------ */

struct blob_sink {
  img_blob_writer_t w;
  int64_t limit;
  kube_error_t *err;
};

static int blob_sink(void *arg, const void *data, size_t len) {
  struct blob_sink *b = arg;
  if (b->w.size + (int64_t)len > b->limit) {
    kube_error_set(b->err, KUBE_REASON_BAD_REQUEST, 0,
                   "blob larger than its descriptor says (%lld bytes)",
                   (long long)b->limit);
    return -1;
  }
  return img_blob_writer_write(&b->w, data, len, b->err);
}

struct layer_progress {
  img_progress_t *p;
  const char *digest;
  int64_t total;
  int64_t last;
};

static void on_layer_progress(void *arg, int64_t now, int64_t total) {
  struct layer_progress *lp = arg;
  (void)total;
  if (now - lp->last < (512 << 10) && now != lp->total)
    return;
  lp->last = now;
  img_progress_emit(lp->p, KUBE_IMAGE_PROGRESS_LAYER, lp->digest, NULL, now,
                    lp->total);
}

/* Fetch one blob into the store unless present; one fetch per digest
 * across threads and processes. */
static int fetch_blob(const kube_image_store_t *s, img_reg_session_t *ss,
                      const img_desc_t *d, img_progress_t *prog,
                      kube_error_t *err) {
  if (img_blob_exists(s, d->digest, NULL)) {
    img_progress_emit(prog, KUBE_IMAGE_PROGRESS_LAYER_DONE, d->digest, "exists",
                      d->size, d->size);
    return 0;
  }
  int lk = img_lock_key(s, "blob", d->digest, err);
  if (lk < 0)
    return -1;
  int rc = -1;
  if (img_blob_exists(s, d->digest, NULL)) {
    img_progress_emit(prog, KUBE_IMAGE_PROGRESS_LAYER_DONE, d->digest, "exists",
                      d->size, d->size);
    rc = 0;
    goto out;
  }
  struct blob_sink b = {.limit = d->size, .err = err};
  if (img_blob_writer_open(s, &b.w, err) < 0)
    goto out;
  kube_strbuf_t path = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&path, "/%s/blobs/%s", ss->ep->repo, d->digest);
  struct layer_progress lp = {prog, d->digest, d->size, -1};
  img_reg_request_t rq = {.method = "GET",
                          .path = path.data,
                          .sink = blob_sink,
                          .sink_arg = &b,
                          .follow = true,
                          .progress = on_layer_progress,
                          .progress_arg = &lp};
  img_reg_response_t resp;
  int r = path.oom ? kube_make_oom(err) : img_reg_request(ss, &rq, &resp, err);
  kube_strbuf_clear(&path);
  if (r < 0) {
    img_blob_writer_abort(&b.w);
    img_reg_response_clear(&resp);
    goto out;
  }
  if (resp.status != 200) {
    img_blob_writer_abort(&b.w);
    img_reg_error(ss, &resp, "fetch blob", err);
    kube_error_wrap(err, "%s", d->digest);
    img_reg_response_clear(&resp);
    goto out;
  }
  img_reg_response_clear(&resp);
  if (b.w.size != d->size) {
    img_blob_writer_abort(&b.w);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "blob %s: got %lld bytes, the manifest says %lld", d->digest,
                   (long long)b.w.size, (long long)d->size);
    goto out;
  }
  if (img_blob_writer_commit(&b.w, d->digest, NULL, err) < 0)
    goto out;
  img_progress_emit(prog, KUBE_IMAGE_PROGRESS_LAYER_DONE, d->digest, "done",
                    d->size, d->size);
  rc = 0;
out:
  img_unlock(lk);
  return rc;
}

struct fetch_pool {
  const kube_image_store_t *s;
  img_reg_session_t *ss;
  const img_desc_t *descs;
  size_t n;
  size_t next;
  pthread_mutex_t mu;
  img_progress_t *prog;
  img_snap_plan_t *plan; /* unpack each layer once fetched, or NULL */
  kube_error_t err;
  bool failed;
};

static void *fetch_worker(void *arg) {
  struct fetch_pool *fp = arg;
  for (;;) {
    pthread_mutex_lock(&fp->mu);
    size_t i = fp->next++;
    bool stop = fp->failed || i >= fp->n;
    pthread_mutex_unlock(&fp->mu);
    if (stop)
      return NULL;
    kube_error_t e = KUBE_ERROR_INIT;
    if (fetch_blob(fp->s, fp->ss, &fp->descs[i], fp->prog, &e) < 0 ||
        (fp->plan && img_snap_plan_layer(fp->plan, i, fp->prog, &e) < 0)) {
      pthread_mutex_lock(&fp->mu);
      if (!fp->failed) {
        fp->failed = true;
        kube_error_move(&fp->err, &e);
      }
      pthread_mutex_unlock(&fp->mu);
      if (fp->plan)
        img_snap_plan_fail(fp->plan);
      kube_error_clear(&e);
      return NULL;
    }
  }
}

/* Fetch the layers, several at once; with a plan, each worker unpacks
 * the layer it fetched right away (from the page cache), so unpacking
 * overlaps the other transfers instead of following them all. */
static int fetch_layers(const kube_image_store_t *s, img_reg_session_t *ss,
                        const img_manifest_t *m, img_progress_t *prog,
                        img_snap_plan_t *plan, kube_error_t *err) {
  struct fetch_pool fp = {.s = s,
                          .ss = ss,
                          .descs = m->layers,
                          .n = m->n_layers,
                          .prog = prog,
                          .plan = plan};
  pthread_mutex_init(&fp.mu, NULL);
  size_t nt = s->parallel < m->n_layers ? s->parallel : m->n_layers;
  pthread_t th[nt ? nt : 1];
  size_t started = 0;
  for (size_t i = 1; i < nt; i++)
    if (pthread_create(&th[i], NULL, fetch_worker, &fp) == 0)
      started = i;
    else
      break;
  fetch_worker(&fp); /* this thread is a worker too */
  for (size_t i = 1; i <= started; i++)
    pthread_join(th[i], NULL);
  pthread_mutex_destroy(&fp.mu);
  if (fp.failed) {
    kube_error_move(err, &fp.err);
    return -1;
  }
  return 0;
}

/* GET a manifest by tag or digest; verifies the digest. */
static int get_manifest(img_reg_session_t *ss, const char *tag_or_digest,
                        char **body, size_t *len, char **digest,
                        char **media_type, kube_error_t *err) {
  kube_strbuf_t path = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&path, "/%s/manifests/%s", ss->ep->repo, tag_or_digest);
  const char *hdrs[] = {ACCEPT_MANIFESTS};
  img_reg_request_t rq = {.method = "GET",
                          .path = path.data,
                          .headers = hdrs,
                          .n_headers = 1,
                          .max_body = IMG_MAX_MANIFEST,
                          .follow = true};
  img_reg_response_t resp;
  int rc = path.oom ? kube_make_oom(err) : img_reg_request(ss, &rq, &resp, err);
  kube_strbuf_clear(&path);
  if (rc < 0) {
    img_reg_response_clear(&resp);
    return -1;
  }
  if (resp.status != 200) {
    img_reg_error(ss, &resp, "manifest", err);
    img_reg_response_clear(&resp);
    return -1;
  }
  *len = resp.body_len;
  *body = resp.body ? resp.body : strdup("");
  resp.body = NULL;
  *digest = img_digest_of(*body, *len);
  if (str_has_prefix(tag_or_digest, "sha256:") &&
      !streq(tag_or_digest, *digest)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "manifest %s from %s hashes to %s", tag_or_digest,
                   ss->ep->host, *digest);
    rc = -1;
  } else if (resp.digest && img_digest_valid(resp.digest) &&
             !streq(resp.digest, *digest)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "manifest from %s: Docker-Content-Digest %s does not match "
                   "the content (%s)",
                   ss->ep->host, resp.digest, *digest);
    rc = -1;
  }
  if (rc == 0 && resp.content_type) {
    char *semi = strchr(resp.content_type, ';');
    if (semi)
      *semi = '\0';
    *media_type = steal_pointer(&resp.content_type);
  }
  img_reg_response_clear(&resp);
  if (rc < 0) {
    free(*body);
    free(*digest);
    *body = *digest = NULL;
  }
  return rc;
}

static int pull_from(kube_image_store_t *s, const kube_image_ref_t *ref,
                     const img_endpoint_t *ep,
                     const kube_image_transfer_options_t *o,
                     img_progress_t *prog, bool unpack, char **manifest_out,
                     char **remote_out, kube_error_t *err) {
  img_auth_t auth;
  img_reg_pick_auth(s, o, ref, ep, &auth);
  img_reg_session_t ss;
  int rc = img_reg_session_init(&ss, ep, &auth, o && o->insecure, false, err);
  img_auth_clear(&auth);
  char *body = NULL, *digest = NULL, *mt = NULL;
  size_t len = 0;
  img_manifest_t m = {0};
  img_image_t im = {0};
  img_snap_plan_t plan = {0};
  if (rc < 0)
    goto out;
  rc = -1;
  if (get_manifest(&ss, ref->digest ? ref->digest : ref->tag, &body, &len,
                   &digest, &mt, err) < 0)
    goto out;
  *remote_out = strdup(digest);
  if (img_is_index(mt, body, len) || (!mt && img_is_index(NULL, body, len))) {
    img_desc_t sel;
    if (img_index_select(body, len, o ? o->platform : NULL, &sel, err) < 0)
      goto out;
    if (img_blob_put(s, body, len, digest, NULL, err) < 0) {
      img_desc_clear(&sel);
      goto out;
    }
    free(body);
    free(digest);
    free(mt);
    body = digest = mt = NULL;
    int r = get_manifest(&ss, sel.digest, &body, &len, &digest, &mt, err);
    img_desc_clear(&sel);
    if (r < 0)
      goto out;
  }
  if (img_manifest_parse(body, len, &m, err) < 0)
    goto out;
  img_progress_emit(prog, KUBE_IMAGE_PROGRESS_RESOLVE, digest, "resolved", 0,
                    0);
  if (fetch_blob(s, &ss, &m.config, NULL, err) < 0)
    goto out;
  if (unpack && (img_image_load_json(s, digest, body, len, &im, err) < 0 ||
                 img_snap_plan_init(&plan, s, &im, err) < 0))
    goto out;
  if (fetch_layers(s, &ss, &m, prog, unpack ? &plan : NULL, err) < 0)
    goto out;
  if (img_blob_put(s, body, len, digest, NULL, err) < 0)
    goto out;
  *manifest_out = steal_pointer(&digest);
  rc = 0;
out:
  if (rc < 0) {
    free(*remote_out);
    *remote_out = NULL;
  }
  img_snap_plan_clear(&plan);
  img_image_clear(&im);
  img_manifest_clear(&m);
  free(body);
  free(digest);
  free(mt);
  img_reg_session_clear(&ss);
  return rc;
}

/* Errors that mean "try the next endpoint". */
static bool try_next(const kube_error_t *e) {
  return e->reason == KUBE_REASON_SERVICE_UNAVAILABLE ||
         e->reason == KUBE_REASON_TIMEOUT ||
         e->reason == KUBE_REASON_NOT_FOUND ||
         e->reason == KUBE_REASON_UNAUTHORIZED ||
         e->reason == KUBE_REASON_FORBIDDEN ||
         e->reason == KUBE_REASON_INTERNAL;
}

int img_pull(kube_image_store_t *s, const kube_image_ref_t *ref,
             const kube_image_transfer_options_t *o, bool unpack,
             char **manifest_out, char **remote_digest_out, kube_error_t *err) {
  *manifest_out = *remote_digest_out = NULL;
  if (s->local_is_mirror) {
    cleanup_free char *name = kube_image_ref_string(ref);
    kube_image_info_t info;
    if (name && kube_image_inspect(s, name, &info, NULL) == 0) {
      *manifest_out = steal_pointer(&info.manifest_digest);
      *remote_digest_out = strdup(*manifest_out);
      kube_image_info_clear(&info);
      return 0;
    }
  }
  img_endpoint_t *eps = NULL;
  size_t n = 0;
  if (img_regconf_endpoints(s->regconf, ref, false, &eps, &n, err) < 0)
    return -1;
  img_progress_t prog;
  img_progress_init(&prog, o ? o->progress : NULL, o ? o->userdata : NULL);
  int rc = -1;
  kube_error_t last = KUBE_ERROR_INIT;
  for (size_t i = 0; i < n && rc < 0; i++) {
    kube_error_clear(&last);
    rc = pull_from(s, ref, &eps[i], o, &prog, unpack, manifest_out,
                   remote_digest_out, &last);
    if (rc < 0 && eps[i].http_fallback && !(o && o->insecure) &&
        last.reason == KUBE_REASON_SERVICE_UNAVAILABLE) {
      /* Docker treats loopback registries as insecure: HTTP after HTTPS */
      img_endpoint_t plain = eps[i];
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      kube_strbuf_printf(&sb, "http://%s", eps[i].host);
      plain.base = kube_strbuf_steal(&sb);
      kube_error_clear(&last);
      rc = plain.base ? pull_from(s, ref, &plain, o, &prog, unpack,
                                  manifest_out, remote_digest_out, &last)
                      : kube_make_oom(&last);
      free(plain.base);
    }
    if (rc < 0 && !try_next(&last))
      break;
  }
  if (rc < 0) {
    cleanup_free char *name = kube_image_ref_string(ref);
    kube_error_move(err, &last);
    kube_error_wrap(err, "pull %s", name ? name : ref->path);
  }
  kube_error_clear(&last);
  for (size_t i = 0; i < n; i++)
    img_endpoint_clear(&eps[i]);
  free(eps);
  img_progress_clear(&prog);
  return rc;
}

static int name_pulled(kube_image_store_t *s, const kube_image_ref_t *r,
                       const char *md, const char *remote, kube_error_t *err) {
  cleanup_free char *name = kube_image_ref_string(r);
  return name ? img_name_manifest(s, name, md, remote, err)
              : kube_make_oom(err);
}

KUBE_EXPORT int kube_image_pull(kube_image_store_t *s, const char *ref,
                                const kube_image_transfer_options_t *o,
                                kube_image_info_t *out, kube_error_t *err) {
  if (out)
    memset(out, 0, sizeof *out);
  kube_image_ref_t r;
  if (kube_image_ref_parse(ref, &r, err) < 0)
    return -1;
  int gc = img_lock(s, "gc.lock", false, err);
  if (gc < 0) {
    kube_image_ref_clear(&r);
    return -1;
  }
  cleanup_free char *md = NULL, *remote = NULL;
  int rc = img_pull(s, &r, o, false, &md, &remote, err);
  if (rc == 0)
    rc = name_pulled(s, &r, md, remote, err);
  if (rc == 0 && out)
    rc = kube_image_inspect(s, md, out, err);
  img_unlock(gc);
  kube_image_ref_clear(&r);
  return rc;
}

KUBE_EXPORT int kube_image_ensure(kube_image_store_t *s, const char *ref,
                                  kube_image_pull_policy_t policy,
                                  const kube_image_transfer_options_t *o,
                                  kube_image_info_t *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  kube_image_ref_t r;
  if (kube_image_ref_parse(ref, &r, err) < 0)
    return -1;
  int gc = img_lock(s, "gc.lock", false, err);
  if (gc < 0) {
    kube_image_ref_clear(&r);
    return -1;
  }
  cleanup_free char *name = kube_image_ref_string(&r);
  cleanup_free char *md = NULL, *remote = NULL;
  int rc = -1;
  kube_error_t lerr = KUBE_ERROR_INIT;
  bool local = name && img_resolve(s, name, &md, NULL, &lerr) == 0;
  if (!name) {
    kube_make_oom(err);
    goto out;
  }
  if (policy == KUBE_IMAGE_PULL_NEVER && !local) {
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                   "ErrImageNeverPull: Container image \"%s\" is not present "
                   "with pull policy of Never",
                   ref);
    goto out;
  }
  if (policy == KUBE_IMAGE_PULL_ALWAYS ||
      (policy == KUBE_IMAGE_PULL_IF_NOT_PRESENT && !local)) {
    free(md);
    md = NULL;
    if (img_pull(s, &r, o, true, &md, &remote, err) < 0 ||
        name_pulled(s, &r, md, remote, err) < 0)
      goto out;
  }
  img_image_t im;
  if (img_image_load(s, md, &im, err) < 0)
    goto out;
  img_progress_t prog;
  img_progress_init(&prog, o ? o->progress : NULL, o ? o->userdata : NULL);
  rc = img_snapshots_ensure(s, &im, o ? o->progress : NULL,
                            o ? o->userdata : NULL, NULL, err);
  img_progress_clear(&prog);
  if (rc == 0) {
    img_touch_used(s, md);
    json_object *index = img_index_load(s, err);
    rc = index ? img_info_fill(s, &im, index, out, err) : -1;
    json_object_put(index);
    if (rc == 0 && !out->repo_digest && r.digest) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      kube_strbuf_printf(&sb, "%s/%s@%s", r.domain, r.path, r.digest);
      out->repo_digest = kube_strbuf_steal(&sb);
    }
  }
  img_image_clear(&im);
out:
  kube_error_clear(&lerr);
  img_unlock(gc);
  kube_image_ref_clear(&r);
  return rc;
}
