/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in registry (regserver*.c): the OCI distribution API v1.1
 * served from the content store.  Internal to the image module.
 *
 * Repositories are views of index.json: a stored name HOST/PATH:TAG is
 * tag TAG of repository PATH ("docker.io/library/kubia:latest" is tag
 * latest of library/kubia; for docker.io a one-component PATH also
 * answers without "library/", as Docker Hub's mirror would).  A tag
 * pushed to repository R is stored under the name its existing tag has,
 * else as docker.io/R (docker.io/library/R for one component), so a
 * pushed image runs as `image: R` at once.  Manifests pushed by digest
 * only are index.json entries without a name, annotated with their
 * repository.  Blobs live once in the store; a repository sees a blob it
 * uploaded or mounted (a link file, images.d/registry/links/<repo
 * hash>/<blob hex>, a prune root for a day so a blob pushed before its
 * manifest survives) or one a manifest of it references.
 *
 * Everything that touches the store runs on worker threads (the img_rs_*
 * store functions below block); the loop only parses, replies and
 * moves bytes.
 */
#ifndef KUBE_IMAGE_REGSERVER_H
#define KUBE_IMAGE_REGSERVER_H

#include <libkube/http.h>

#include "image/internal.h"

#define IMG_ANN_REGISTRY_REPO "io.libkube.registry.repository"
/* Longest repository name (distribution's limit on the whole name). */
#define RS_MAX_NAME 255
/* Longest upload session id we hand out (32 hex digits). */
#define RS_UUID_LEN 32

/* ---- routes (regserver-parse.c; pure, fuzzed) ------------------------ */

typedef enum img_rs_kind {
  RS_BASE = 0,   /* /v2/ */
  RS_CATALOG,    /* /v2/_catalog */
  RS_TOKEN,      /* /v2/token (the token endpoint) */
  RS_MANIFEST,   /* /v2/<name>/manifests/<reference> */
  RS_BLOB,       /* /v2/<name>/blobs/<digest> */
  RS_UPLOAD_NEW, /* /v2/<name>/blobs/uploads/ */
  RS_UPLOAD,     /* /v2/<name>/blobs/uploads/<uuid> */
  RS_TAGS,       /* /v2/<name>/tags/list */
  RS_REFERRERS,  /* /v2/<name>/referrers/<digest> */
} img_rs_kind_t;

/* Spec error codes. */
typedef enum img_rs_code {
  RS_OK = 0,
  RS_BLOB_UNKNOWN,
  RS_BLOB_UPLOAD_INVALID,
  RS_BLOB_UPLOAD_UNKNOWN,
  RS_DIGEST_INVALID,
  RS_MANIFEST_BLOB_UNKNOWN,
  RS_MANIFEST_INVALID,
  RS_MANIFEST_UNKNOWN,
  RS_NAME_INVALID,
  RS_NAME_UNKNOWN,
  RS_SIZE_INVALID,
  RS_UNAUTHORIZED,
  RS_DENIED,
  RS_UNSUPPORTED,
  RS_TOOMANYREQUESTS,
  RS_RANGE_INVALID, /* 416, no spec code of its own: BLOB_UPLOAD_INVALID */
} img_rs_code_t;

const char *img_rs_code_name(img_rs_code_t c);
int img_rs_code_status(img_rs_code_t c);

typedef struct img_rs_route {
  img_rs_kind_t kind;
  char name[RS_MAX_NAME + 1]; /* repository */
  char ref[160];              /* tag, digest or upload id */
  bool ref_is_digest;
} img_rs_route_t;

/* Parse a decoded request path.  RS_OK, or the spec error (NAME_INVALID,
 * DIGEST_INVALID, MANIFEST_INVALID for a bad tag, BLOB_UPLOAD_UNKNOWN
 * for a bad upload id, NAME_UNKNOWN for a path that names no endpoint:
 * the caller answers 404). */
img_rs_code_t img_rs_route_parse(const char *path, img_rs_route_t *out);
/* Distribution's repository name grammar (components of [a-z0-9] joined
 * by '.', '_', '__' or '-'s, separated by '/'), at most RS_MAX_NAME. */
bool img_rs_name_valid(const char *name);
/* [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */
bool img_rs_tag_valid(const char *tag);
/* "Content-Range: <start>-<end>" (also "bytes <start>-<end>[/<total>]"
 * and "bytes=..."): inclusive; false when malformed or end < start. */
bool img_rs_content_range_parse(const char *v, int64_t *start, int64_t *end);
/* "Range: bytes=<a>-<b>", "bytes=<a>-", "bytes=-<n>" against a blob of
 * `size`: the inclusive [*start, *end].  0 ok, -1 unsatisfiable (416),
 * 1 ignored (malformed or several ranges: serve the whole blob). */
int img_rs_range_parse(const char *v, int64_t size, int64_t *start,
                       int64_t *end);

/* What a manifest PUT must check: media type (Content-Type vs the
 * document's own), referenced descriptors, subject. */
typedef struct img_rs_manifest_info {
  char *media_type; /* the manifest's (owned) */
  bool is_index;
  char **refs; /* config + layers, or the index's manifests */
  size_t n_refs;
  char *subject;            /* subject digest or NULL (owned) */
  char *artifact_type;      /* artifactType, else config.mediaType (owned) */
  json_object *annotations; /* owned ref, may be NULL */
} img_rs_manifest_info_t;

void img_rs_manifest_info_clear(img_rs_manifest_info_t *mi);
/* Validate a manifest body (content_type may be NULL).  RS_OK, or
 * MANIFEST_INVALID with a message in msg (>= 160 bytes). */
img_rs_code_t img_rs_manifest_check(const char *body, size_t len,
                                    const char *content_type,
                                    img_rs_manifest_info_t *out, char *msg,
                                    size_t msg_len);

/* ---- the store side (regserver-store.c; blocking) ------------------- */

typedef struct img_rs_entry {
  char *name; /* stored name, NULL for an untagged manifest */
  char *tag;  /* NULL when untagged */
  char *digest;
  char *media_type;
  int64_t size;
} img_rs_entry_t;

void img_rs_entries_free(img_rs_entry_t *v, size_t n);
/* The index.json entries of repository `repo`, tags sorted. */
int img_rs_repo_entries(const kube_image_store_t *s, const char *repo,
                        img_rs_entry_t **out, size_t *n, kube_error_t *err);
/* Every repository that has a tag, an untagged manifest or a blob link,
 * sorted (owned NULL-terminated). */
char **img_rs_catalog(const kube_image_store_t *s, kube_error_t *err);
/* Find manifest `ref` (tag or digest) in repo: *digest_out and
 * *media_type_out (owned).  NotFound when absent. */
int img_rs_manifest_find(const kube_image_store_t *s, const char *repo,
                         const char *ref, bool is_digest, char **digest_out,
                         char **media_type_out, kube_error_t *err);
/* Store a manifest body under ref in repo (digest-verified when ref is a
 * digest); the blobs it references must be visible in repo (else
 * NotFound with the digest).  *digest_out (owned). */
int img_rs_manifest_put(const kube_image_store_t *s, const char *repo,
                        const char *ref, bool is_digest, const char *body,
                        size_t len, const img_rs_manifest_info_t *mi,
                        char **digest_out, kube_error_t *err);
/* Remove a tag, or every entry of repo with digest `ref`.  NotFound. */
int img_rs_manifest_delete(const kube_image_store_t *s, const char *repo,
                           const char *ref, bool is_digest, kube_error_t *err);
/* Whether blob `digest` is visible in repo; *size when it is. */
bool img_rs_blob_visible(const kube_image_store_t *s, const char *repo,
                         const char *digest, int64_t *size);
int img_rs_blob_link(const kube_image_store_t *s, const char *repo,
                     const char *digest, kube_error_t *err);
/* Drop repo's link (NotFound when the blob is not visible there). */
int img_rs_blob_unlink(const kube_image_store_t *s, const char *repo,
                       const char *digest, kube_error_t *err);
/* The referrers of `digest` in repo as an OCI index (owned JSON text);
 * artifact_type may be NULL. */
char *img_rs_referrers(const kube_image_store_t *s, const char *repo,
                       const char *digest, const char *artifact_type,
                       kube_error_t *err);
/* Links of the last day are prune roots: called by prune. */
void img_rs_link_roots(const kube_image_store_t *s,
                       void (*mark)(void *arg, const char *digest), void *arg);

/* Upload sessions: images.d/uploads/<uuid> (data) and <uuid>.repo. */
int img_rs_upload_new(const kube_image_store_t *s, const char *repo,
                      char uuid[RS_UUID_LEN + 1], kube_error_t *err);
/* Open the session's data file for appending (O_WRONLY); *size its
 * length.  NotFound when unknown or of another repository. */
int img_rs_upload_open(const kube_image_store_t *s, const char *repo,
                       const char *uuid, int64_t *size, kube_error_t *err);
/* Hash the data, compare with digest, publish as a blob and link it.
 * The session is removed either way when the digest mismatches
 * (BadRequest) or it succeeds. */
int img_rs_upload_commit(const kube_image_store_t *s, const char *repo,
                         const char *uuid, const char *digest,
                         kube_error_t *err);
void img_rs_upload_remove(const kube_image_store_t *s, const char *uuid);
/* Remove sessions untouched for `age_s` seconds. */
void img_rs_upload_expire(const kube_image_store_t *s, int64_t age_s);

#endif /* KUBE_IMAGE_REGSERVER_H */
