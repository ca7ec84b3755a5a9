/* SPDX-License-Identifier: Apache-2.0 */
/* The registry's jobs and its state, shared by regserver.c and
 * regserver-blobs.c only. */
#ifndef KUBE_IMAGE_REGSERVER_JOB_H
#define KUBE_IMAGE_REGSERVER_JOB_H

#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

#include "image/regserver.h"

struct kube_image_registry {
  kube_loop_t *loop;
  kube_image_store_t *store;
  kube_workers_t *workers;
  bool own_workers;
  kube_http_server_t *http;
  char *token, *cert, *key;
  char *address;
  size_t max_manifest;
  unsigned active; /* jobs alive */
  bool draining;
  void (*drained)(void *arg);
  void *drained_arg;
};

#define RS_MAX_HDRS 8
/* Pieces of blobs moved per worker round. */
#define RS_PIECE (1u << 20)

typedef struct img_rs_job img_rs_job_t;

struct img_rs_job {
  kube_image_registry_t *reg;
  kube_http_request_t *req; /* loop side only; NULL once answered */
  img_rs_route_t route;
  const char *method; /* static (http-parser's names) */
  bool head;
  bool gone;                        /* the peer left */
  bool busy;                        /* a worker has the job */
  void (*then)(img_rs_job_t *j);    /* next step after the worker (loop) */
  void (*on_gone)(img_rs_job_t *j); /* the peer left while not busy */
  /* copied from the request */
  char *q_n, *q_last, *q_digest, *q_mount, *q_from, *q_artifact_type;
  char *h_ctype, *h_crange, *h_range;
  int64_t content_length; /* -1 when absent */
  /* the answer */
  int status;
  img_rs_code_t code;
  char msg[256];
  char ctype[128];
  struct {
    const char *name; /* static */
    char *value;      /* owned */
  } hdrs[RS_MAX_HDRS];
  size_t n_hdrs;
  kube_strbuf_t out;
  kube_strbuf_t in; /* a manifest body */
  /* blobs: file, offsets, pieces */
  int fd;
  int64_t off, end, size, start;
  char *buf;
  size_t buf_len;
  bool io_error;
  char uuid[RS_UUID_LEN + 1];
  char *piece, *stash; /* upload pieces: being written, waiting */
  size_t piece_len, stash_len;
  bool reading, writing, body_done, body_failed, finishing;
  int op; /* regserver-blobs.c's operation */
};

/* regserver.c */
img_rs_job_t *img_rs_job_new(kube_image_registry_t *reg,
                             kube_http_request_t *req,
                             const img_rs_route_t *route);
void img_rs_job_free(img_rs_job_t *j);
/* Run work(j) on a worker; then then(j) on the loop (NULL: answer with
 * what the job holds and free it). */
void img_rs_job_submit(img_rs_job_t *j, kube_work_fn work,
                       void (*then)(img_rs_job_t *j));
void img_rs_job_finish(img_rs_job_t *j);
KUBE_PRINTF(3, 4)
void img_rs_job_error(img_rs_job_t *j, img_rs_code_t code, const char *fmt,
                      ...);
KUBE_PRINTF(3, 4)
void img_rs_job_header(img_rs_job_t *j, const char *name, const char *fmt, ...);
void img_rs_job_store_error(img_rs_job_t *j, const kube_error_t *err,
                            img_rs_code_t not_found);
void img_rs_send(kube_http_request_t *req, int status, const char *ctype,
                 const void *body, size_t len);
void img_rs_reply_error(kube_http_request_t *req, img_rs_code_t code,
                        int status, const char *msg);
void img_rs_registry_idle_check(kube_image_registry_t *reg);

/* regserver-blobs.c: blob and upload requests.  True when it took the
 * request (answered or in progress), false for a method it does not
 * serve there. */
bool img_rs_blob_request(kube_image_registry_t *reg, kube_http_request_t *req,
                         const img_rs_route_t *route);

#endif /* KUBE_IMAGE_REGSERVER_JOB_H */
