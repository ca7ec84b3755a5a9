/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry's blobs: downloads (Range, HEAD) read piece by piece on
 * workers and written as the socket drains; uploads (monolithic POST,
 * chunked PATCH, closing PUT) streamed from the request body to the
 * session file on workers, one piece being written while the next is
 * read.  A chunk that breaks off (peer gone, bad framing, short of its
 * Content-Range) is cut off the session again, so the client can resume
 * from the Range it is told; a blob becomes visible only once its digest
 * checks (img_rs_upload_commit).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/regserver-job.h"

enum {
  OP_GET,
  OP_PATCH,
  OP_PUT,
  OP_POST_DIGEST, /* monolithic: a session of its own */
};

/* ---- downloads ---- */

static void read_more(img_rs_job_t *j);

static void work_blob_open(void *arg) {
  img_rs_job_t *j = arg;
  const kube_image_store_t *s = j->reg->store;
  if (!img_rs_blob_visible(s, j->route.name, j->route.ref, &j->size)) {
    img_rs_job_error(j, RS_BLOB_UNKNOWN, "blob %s unknown to %s", j->route.ref,
                     j->route.name);
    return;
  }
  cleanup_free char *p = img_blob_path(s, j->route.ref);
  j->fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
  if (j->fd < 0) {
    img_rs_job_error(j, RS_BLOB_UNKNOWN, "blob %s unknown", j->route.ref);
    return;
  }
  j->start = 0;
  j->end = j->size - 1;
  j->status = 200;
  int r = j->h_range
              ? img_rs_range_parse(j->h_range, j->size, &j->start, &j->end)
              : 1;
  if (r < 0) {
    img_rs_job_error(j, RS_RANGE_INVALID, "range %s not satisfiable",
                     j->h_range);
    img_rs_job_header(j, "Content-Range", "bytes */%lld", (long long)j->size);
  } else if (r == 0) {
    j->status = 206;
  }
  j->off = j->start;
}

static void work_read(void *arg) {
  img_rs_job_t *j = arg;
  size_t want = (size_t)(j->end + 1 - j->off);
  if (want > RS_PIECE)
    want = RS_PIECE;
  if (!j->buf && !(j->buf = malloc(RS_PIECE))) {
    j->io_error = true;
    return;
  }
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(j->fd, j->buf + got, want - got, j->off + (off_t)got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  j->buf_len = got;
  j->io_error = got < want;
}

/* The job is done with its request (answered, or cut off). */
static void job_end(img_rs_job_t *j, bool complete) {
  kube_http_request_t *req = j->req;
  j->req = NULL;
  if (req) {
    kube_http_request_set_close_cb(req, NULL, NULL);
    kube_http_stream_set_drained_cb(req, 0, NULL, NULL);
    if (complete)
      kube_http_stream_end(req);
    else
      kube_http_stream_abort(req);
  }
  img_rs_job_free(j);
}

static void on_drained(kube_http_request_t *req, void *arg) {
  img_rs_job_t *j = arg;
  kube_http_stream_set_drained_cb(req, 0, NULL, NULL);
  read_more(j);
}

static void gone_free(img_rs_job_t *j) {
  job_end(j, false);
}

static void read_done(img_rs_job_t *j) {
  if (j->gone || j->io_error) {
    if (j->io_error)
      log_warn("registry: blob %s: short read", j->route.ref);
    job_end(j, false);
    return;
  }
  kube_http_stream_write(j->req, j->buf, j->buf_len);
  j->off += (int64_t)j->buf_len;
  if (j->off > j->end) {
    job_end(j, true);
    return;
  }
  /* Read ahead while the socket holds little; else wait for it. */
  if (kube_http_stream_backlog(j->req) > 4 * RS_PIECE) {
    kube_http_stream_set_drained_cb(j->req, RS_PIECE, on_drained, j);
    return;
  }
  read_more(j);
}

static void read_more(img_rs_job_t *j) {
  img_rs_job_submit(j, work_read, read_done);
}

static void blob_opened(img_rs_job_t *j) {
  if (j->code != RS_OK || j->gone) {
    img_rs_job_finish(j);
    return;
  }
  kube_http_request_t *req = j->req;
  kube_http_response_add_header(req, "Docker-Distribution-API-Version",
                                "registry/2.0", NULL);
  kube_http_response_add_header(req, "Docker-Content-Digest", j->route.ref,
                                NULL);
  kube_http_response_add_header(req, "Accept-Ranges", "bytes", NULL);
  char etag[180];
  snprintf(etag, sizeof etag, "\"%s\"", j->route.ref);
  kube_http_response_add_header(req, "Etag", etag, NULL);
  if (j->status == 206) {
    char cr[96];
    snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)j->start,
             (long long)j->end, (long long)j->size);
    kube_http_response_add_header(req, "Content-Range", cr, NULL);
  }
  int64_t len = j->size ? j->end - j->start + 1 : 0;
  if (kube_http_stream_begin(req, j->status, "application/octet-stream", len) <
          0 ||
      j->head || len == 0) {
    job_end(j, true);
    return;
  }
  j->on_gone = gone_free;
  read_more(j);
}

/* ---- deletes and mounts ---- */

static void work_blob_delete(void *arg) {
  img_rs_job_t *j = arg;
  const kube_image_store_t *s = j->reg->store;
  kube_error_t err = KUBE_ERROR_INIT;
  if (!img_rs_blob_visible(s, j->route.name, j->route.ref, NULL)) {
    img_rs_job_error(j, RS_BLOB_UNKNOWN, "blob %s unknown", j->route.ref);
    return;
  }
  if (img_rs_blob_unlink(s, j->route.name, j->route.ref, &err) < 0) {
    kube_error_clear(&err);
    img_rs_job_error(j, RS_UNSUPPORTED,
                     "blob %s is part of a manifest of %s: delete the manifest",
                     j->route.ref, j->route.name);
    return;
  }
  j->status = 202;
}

static void created(img_rs_job_t *j, const char *digest) {
  j->status = 201;
  img_rs_job_header(j, "Location", "/v2/%s/blobs/%s", j->route.name, digest);
  img_rs_job_header(j, "Docker-Content-Digest", "%s", digest);
}

static void upload_headers(img_rs_job_t *j, int64_t size) {
  img_rs_job_header(j, "Location", "/v2/%s/blobs/uploads/%s", j->route.name,
                    j->uuid);
  img_rs_job_header(j, "Range", "0-%lld", (long long)(size > 0 ? size - 1 : 0));
  img_rs_job_header(j, "Docker-Upload-UUID", "%s", j->uuid);
}

/* POST: a mount, else a new session (202, or a monolithic upload). */
static void work_upload_new(void *arg) {
  img_rs_job_t *j = arg;
  const kube_image_store_t *s = j->reg->store;
  kube_error_t err = KUBE_ERROR_INIT;
  if (j->q_mount && img_digest_valid(j->q_mount) && !j->q_digest) {
    bool ok = j->q_from && img_rs_name_valid(j->q_from)
                  ? img_rs_blob_visible(s, j->q_from, j->q_mount, NULL)
                  : false;
    if (ok && img_rs_blob_link(s, j->route.name, j->q_mount, &err) == 0) {
      created(j, j->q_mount);
      return;
    }
    kube_error_clear(&err);
    /* not mountable: an ordinary session (the spec's fallback) */
  }
  if (img_rs_upload_new(s, j->route.name, j->uuid, &err) < 0) {
    img_rs_job_store_error(j, &err, RS_BLOB_UPLOAD_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  if (j->op == OP_POST_DIGEST) {
    j->fd = img_rs_upload_open(s, j->route.name, j->uuid, &j->size, &err);
    if (j->fd < 0) {
      img_rs_job_store_error(j, &err, RS_BLOB_UPLOAD_UNKNOWN);
      kube_error_clear(&err);
    }
    j->start = j->off = 0;
    return;
  }
  j->status = 202;
  upload_headers(j, 0);
}

static void work_upload_open(void *arg) {
  img_rs_job_t *j = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  snprintf(j->uuid, sizeof j->uuid, "%.32s", j->route.ref);
  j->fd = img_rs_upload_open(j->reg->store, j->route.name, j->route.ref,
                             &j->size, &err);
  if (j->fd < 0) {
    img_rs_job_store_error(j, &err, RS_BLOB_UPLOAD_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  j->start = j->off = j->size;
  int64_t a, b;
  if (j->h_crange && (j->op == OP_PATCH || j->op == OP_PUT) &&
      img_rs_content_range_parse(j->h_crange, &a, &b) && a != j->size) {
    img_rs_job_error(j, RS_RANGE_INVALID,
                     "the chunk starts at %lld, the upload has %lld bytes",
                     (long long)a, (long long)j->size);
    upload_headers(j, j->size);
  }
}

static void work_upload_status(void *arg) {
  img_rs_job_t *j = arg;
  work_upload_open(arg);
  if (j->code == RS_OK) {
    j->status = 204;
    upload_headers(j, j->size);
  }
}

static void work_upload_cancel(void *arg) {
  img_rs_job_t *j = arg;
  work_upload_open(arg);
  if (j->code == RS_OK) {
    img_rs_upload_remove(j->reg->store, j->uuid);
    j->status = 204;
  }
}

/* ---- upload bodies ---- */

static void request_read(img_rs_job_t *j);
static void body_maybe_finish(img_rs_job_t *j);

static void work_write(void *arg) {
  img_rs_job_t *j = arg;
  size_t done = 0;
  while (done < j->piece_len) {
    ssize_t n = pwrite(j->fd, j->piece + done, j->piece_len - done,
                       j->off + (off_t)done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      j->io_error = true;
      snprintf(j->msg, sizeof j->msg, "write upload: %s", strerror(errno));
      return;
    }
    done += (size_t)n;
  }
  j->off += (int64_t)done;
}

static void write_done(img_rs_job_t *j);

static void start_write(img_rs_job_t *j, char *piece, size_t len) {
  j->piece = piece;
  j->piece_len = len;
  j->writing = true;
  img_rs_job_submit(j, work_write, write_done);
}

static void on_piece(kube_http_request_t *req, int status, const void *data,
                     size_t len, void *arg) {
  img_rs_job_t *j = arg;
  j->reading = false;
  if (status > 0 && !j->body_failed) {
    char *copy = malloc(len);
    if (!copy) {
      j->body_failed = j->io_error = true;
      body_maybe_finish(j);
      return;
    }
    memcpy(copy, data, len);
    if (j->writing) {
      j->stash = copy; /* read on once it is written */
      j->stash_len = len;
      return;
    }
    start_write(j, copy, len);
    request_read(j);
    return;
  }
  if (status == 0)
    j->body_done = true;
  else
    j->body_failed = true;
  body_maybe_finish(j);
}

static void request_read(img_rs_job_t *j) {
  j->reading = true;
  if (!j->req ||
      kube_http_request_read_body(j->req, RS_PIECE, on_piece, j) < 0) {
    j->reading = false;
    j->body_failed = true;
  }
}

static void write_done(img_rs_job_t *j) {
  j->writing = false;
  free(j->piece);
  j->piece = NULL;
  if (j->io_error || j->gone)
    j->body_failed = true;
  if (j->gone)
    j->reading = false; /* a pending read was dropped with the peer */
  if (!j->body_failed && j->stash) {
    char *p = j->stash;
    j->stash = NULL;
    start_write(j, p, j->stash_len);
    if (!j->body_done)
      request_read(j);
    return;
  }
  body_maybe_finish(j);
}

static void body_gone(img_rs_job_t *j) {
  j->reading = false;
  j->body_failed = true;
  body_maybe_finish(j);
}

/* The chunk did not land whole: cut it off again (a monolithic upload's
 * session goes altogether). */
static void work_rollback(void *arg) {
  img_rs_job_t *j = arg;
  if (j->op == OP_POST_DIGEST) {
    img_rs_upload_remove(j->reg->store, j->uuid);
  } else if (ftruncate(j->fd, j->start) < 0) {
    log_warn("registry: upload %s: cannot cut a failed chunk: %s", j->uuid,
             strerror(errno));
  }
  if (j->io_error) {
    j->code = RS_UNSUPPORTED;
    j->status = 500;
  } else if (j->code == RS_OK) {
    img_rs_job_error(j, RS_BLOB_UPLOAD_INVALID,
                     "the upload body broke off: resume from the Range given");
    if (j->op != OP_POST_DIGEST)
      upload_headers(j, j->start);
  }
}

static void work_commit(void *arg) {
  img_rs_job_t *j = arg;
  close(j->fd);
  j->fd = -1;
  kube_error_t err = KUBE_ERROR_INIT;
  if (img_rs_upload_commit(j->reg->store, j->route.name, j->uuid, j->q_digest,
                           &err) < 0) {
    img_rs_job_store_error(j, &err, RS_BLOB_UPLOAD_UNKNOWN);
    kube_error_clear(&err);
    return;
  }
  created(j, j->q_digest);
}

static void body_maybe_finish(img_rs_job_t *j) {
  if (j->writing || (j->reading && !j->gone) || j->finishing)
    return;
  j->finishing = true;
  j->on_gone = NULL;
  int64_t a, b;
  if (!j->body_failed && j->h_crange &&
      img_rs_content_range_parse(j->h_crange, &a, &b) &&
      j->off - j->start != b - a + 1) {
    img_rs_job_error(j, RS_SIZE_INVALID,
                     "the chunk has %lld bytes, its Content-Range says %lld",
                     (long long)(j->off - j->start), (long long)(b - a + 1));
    j->body_failed = true;
  }
  if (j->body_failed) {
    img_rs_job_submit(j, work_rollback, NULL);
    return;
  }
  if (j->op == OP_PATCH) {
    j->status = 202;
    upload_headers(j, j->off);
    img_rs_job_finish(j);
    return;
  }
  img_rs_job_submit(j, work_commit, NULL);
}

/* The session is open (j->fd): stream the body into it. */
static void body_begin(img_rs_job_t *j) {
  if (j->code != RS_OK || j->gone) {
    if (j->code == RS_OK && j->op == OP_POST_DIGEST) {
      j->body_failed = true; /* drop the fresh session */
      body_maybe_finish(j);
      return;
    }
    img_rs_job_finish(j);
    return;
  }
  if (j->op == OP_POST_DIGEST)
    snprintf(j->route.ref, sizeof j->route.ref, "%s", j->uuid);
  else
    snprintf(j->uuid, sizeof j->uuid, "%.32s", j->route.ref);
  j->on_gone = body_gone;
  request_read(j);
  if (!j->reading)
    body_maybe_finish(j);
}

/* ---- routing ---- */

bool img_rs_blob_request(kube_image_registry_t *reg, kube_http_request_t *req,
                         const img_rs_route_t *route) {
  const char *m = kube_http_request_method(req);
  bool get = streq(m, "GET") || streq(m, "HEAD");
  kube_work_fn work = NULL;
  void (*then)(img_rs_job_t *) = NULL;
  int op = OP_GET;
  switch (route->kind) {
  case RS_BLOB:
    if (get) {
      work = work_blob_open;
      then = blob_opened;
    } else if (streq(m, "DELETE")) {
      work = work_blob_delete;
    }
    break;
  case RS_UPLOAD_NEW:
    if (streq(m, "POST")) {
      work = work_upload_new;
      if (kube_http_request_query_param(req, "digest")) {
        op = OP_POST_DIGEST;
        then = body_begin;
      }
    }
    break;
  case RS_UPLOAD:
    if (streq(m, "GET")) {
      work = work_upload_status;
    } else if (streq(m, "DELETE")) {
      work = work_upload_cancel;
    } else if (streq(m, "PATCH") || streq(m, "PUT")) {
      op = streq(m, "PATCH") ? OP_PATCH : OP_PUT;
      work = work_upload_open;
      then = body_begin;
    }
    break;
  default:
    break;
  }
  if (!work)
    return false;
  img_rs_job_t *j = img_rs_job_new(reg, req, route);
  if (!j) {
    img_rs_reply_error(req, RS_UNSUPPORTED, 500, "out of memory");
    return true;
  }
  j->op = op;
  if (op == OP_POST_DIGEST || op == OP_PUT) {
    if (!j->q_digest || !img_digest_valid(j->q_digest)) {
      img_rs_job_error(j, RS_DIGEST_INVALID,
                       "digest %s is invalid or unsupported",
                       j->q_digest ? j->q_digest : "(missing)");
      img_rs_job_finish(j);
      return true;
    }
  }
  int64_t a, b;
  if (j->h_crange && (op == OP_PATCH || op == OP_PUT)) {
    if (!img_rs_content_range_parse(j->h_crange, &a, &b)) {
      img_rs_job_error(j, RS_RANGE_INVALID, "bad Content-Range %s",
                       j->h_crange);
      img_rs_job_finish(j);
      return true;
    }
    if (j->content_length >= 0 && j->content_length != b - a + 1) {
      img_rs_job_error(j, RS_SIZE_INVALID,
                       "Content-Length %lld does not match Content-Range %s",
                       (long long)j->content_length, j->h_crange);
      img_rs_job_finish(j);
      return true;
    }
  }
  img_rs_job_submit(j, work, then);
  return true;
}
